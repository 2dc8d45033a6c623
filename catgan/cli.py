"""`catgan`: the command line that wires api, worker and serving together."""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

import click

from core.settings import Settings


def _settings() -> Settings:
    return Settings()


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so Ctrl-C and SIGTERM stop the same clean way."""
    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


@click.group()
def main() -> None:
    """catgan: train GANs and generate cat pictures in bulk."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def up(host: str, port: int) -> None:
    """Start everything on this machine: embedded Redis, migrations, the API and a worker."""
    from catgan.stack import LocalStack

    settings = _settings()
    _setup_logging(settings)
    _raise_on_sigterm()
    stack = LocalStack(settings, host=host, port=port)
    try:
        stack.start()
        click.echo(f"catgan is up at {stack.url} (data in {settings.home}, logs in {stack.log_dir}); Ctrl-C stops it")
        while stack.alive():
            time.sleep(0.5)
        click.echo("a service process exited; stopping", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        stack.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def api(host: str, port: int) -> None:
    """Serve the API (development server; production: gunicorn 'catgan.wsgi:app')."""
    from werkzeug.serving import make_server

    from api.app import create_app

    settings = _settings()
    _setup_logging(settings)
    _raise_on_sigterm()
    server = make_server(host, port, create_app(settings), threaded=True)
    click.echo(f"API listening on http://{host}:{port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@click.option("--queues", default="train,generate", show_default=True, help="Comma-separated queues to consume.")
@click.option("--name", default=None, help="Worker node name (default: catgan-<pid>@<host>).")
def worker(queues: str, name: str | None) -> None:
    """Run a Celery worker: one job at a time, TensorFlow only inside the task process."""
    import os

    from worker.app import app, settings

    settings.ensure_directories()
    app.worker_main([
        "worker", "--pool", "solo", "--queues", queues, "--loglevel", settings.log_level,
        "--hostname", name or f"catgan-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ])


@main.command()
@click.option("--address", default=None, help="host:port of the gRPC API (default: CATGAN_SERVING_ADDRESS).")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="How often models.config and the version folders are checked for changes.")
def serving(address: str | None, poll_seconds: float) -> None:
    """Serve the model repository over TF Serving's gRPC API (a stand-in for tensorflow_model_server)."""
    from serving.server import run_server

    settings = _settings()
    _setup_logging(settings)
    assert settings.model_repository is not None  # Settings resolves it under HOME
    # run_server stops gracefully on SIGTERM and SIGINT itself: it lets requests in flight finish.
    run_server(settings.model_repository, address or settings.serving_address, poll_seconds=poll_seconds,
               max_message_bytes=settings.serving_max_message_bytes,
               config_base_path=settings.serving_model_base_path)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from core.migrate import current_revision, upgrade_database

    settings = _settings()
    upgrade_database(settings, revision)
    click.echo(f"database at revision {current_revision(settings)}")


@main.command()
@click.option("--images", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of cat images.")
@click.option("--minutes", default=5.0, show_default=True, type=float, help="Training time budget.")
@click.option("--count", default=64, show_default=True, type=int, help="How many cats to generate.")
@click.option("--out", default=Path("."), type=click.Path(file_okay=False, path_type=Path),
              help="Where to save cats.zip and cats-grid.png.")
@click.option("--image-size", default=32, show_default=True, type=click.Choice([32, 64]),
              help="Cat size in pixels; 64 wants about four times the minutes.")
@click.option("--port", default=8000, show_default=True, type=int)
def quickstart(images: Path, minutes: float, count: int, out: Path, image_size: int, port: int) -> None:
    """Bring the service up, train a short DCGAN on IMAGES, generate cats and save them."""
    from catgan.quickstart import run_quickstart

    settings = _settings()
    _raise_on_sigterm()
    run_quickstart(settings, images=images, minutes=minutes, count=count, out=out, port=port, image_size=image_size)


if __name__ == "__main__":
    main()
