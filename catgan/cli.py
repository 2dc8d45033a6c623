"""`catgan`: the command line that wires api, worker and serving together."""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from catgan.commands import CatganGroup
from core.errors import CatganError
from core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catgan.stack import LocalStack


def _settings() -> Settings:
    return Settings()


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _configure_logging(settings: Settings) -> None:
    """Log as CATGAN_LOG_FORMAT says (text on a terminal, JSON lines otherwise), with request and job ids."""
    from core.logs import configure_logging

    configure_logging(settings)


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so Ctrl-C and SIGTERM stop the same clean way."""
    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


@click.group(cls=CatganGroup)
def main() -> None:
    """catgan: train GANs and generate cat pictures in bulk.

    The client commands (datasets, train, generate, jobs, watch, download, cancel, resume, models, label) talk
    to a running API: CATGAN_URL (default http://127.0.0.1:8000) and CATGAN_TOKEN, or --url/--token.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def up(host: str, port: int) -> None:
    """Start everything on this machine: embedded Redis, migrations, the API and a worker."""
    from catgan.stack import LocalStack

    settings = _settings()
    _configure_logging(settings)
    _raise_on_sigterm()
    stack = LocalStack(settings, host=host, port=port)
    try:
        stack.start()
        _echo_local_key(stack, settings)
        click.echo(f"catgan is up at {stack.url} (data in {settings.home}, logs in {stack.log_dir}); Ctrl-C stops it")
        while stack.alive():
            time.sleep(0.5)
        click.echo("a service process exited; stopping", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        stack.stop()


def _echo_local_key(stack: LocalStack, settings: Settings) -> None:
    """Show the local API key once, when it was just made; later just say where it is."""
    from catgan.localkey import key_file

    if stack.token_created:
        click.echo(f"API key for owner 'local' (send it as `Authorization: Bearer ...`): {stack.token}\n"
                   f"  saved in {key_file(settings)} (mode 0600) for the CLI and quickstart")
    elif stack.token:
        click.echo(f"API key for owner 'local' in {key_file(settings)}")
    else:
        click.echo("authentication is off (CATGAN_AUTH=off): anyone who can reach the API may use it", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def api(host: str, port: int) -> None:
    """Serve the API (development server; production: gunicorn 'catgan.wsgi:app')."""
    from werkzeug.serving import make_server

    from api.app import create_app

    settings = _settings()
    _configure_logging(settings)
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
    """Run a Celery worker: one job at a time, each in a fresh child process that imports TensorFlow."""
    import os

    from worker.app import app, settings

    from core.queue import QUEUE_WEBHOOKS

    settings.ensure_directories()
    # prefork with one child and one task per child: the main process never imports TensorFlow, so
    # forking it is safe; each job gets a fresh process whose exit returns its (GPU) memory.
    # A worker of webhook deliveries only (short HTTP calls, no TensorFlow) runs them in threads instead.
    pool = ["--pool", "prefork", "--concurrency", "1", "--max-tasks-per-child", "1"]
    if {q.strip() for q in queues.split(",")} == {QUEUE_WEBHOOKS}:
        pool = ["--pool", "threads", "--concurrency", str(settings.webhook_concurrency)]
    app.worker_main([
        "worker", *pool, "--queues", queues,
        "--loglevel", settings.log_level, "--hostname", name or f"catgan-{os.getpid()}@%h", "--without-gossip",
        "--without-mingle",
    ])


@main.command()
def sweeper() -> None:
    """Requeue jobs whose worker died, resend jobs the broker lost, fail jobs that keep killing workers."""
    import threading

    from core.db import make_engine, make_session_factory
    from core.queue import make_celery
    from core.sweeper import Sweeper

    settings = _settings()
    _configure_logging(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine = make_engine(settings)
    click.echo(f"sweeping every {settings.sweep_interval_seconds:g} s")
    try:
        Sweeper(settings, make_session_factory(engine), make_celery(settings)).run(stop)
    finally:
        engine.dispose()


@main.command()
@click.option("--bind", "--address", "bind", default=None,
              help="host:port to listen on (default: CATGAN_SERVING_BIND, loopback). The API has no "
              "authentication: bind a private network's interface only. Clients use CATGAN_SERVING_ADDRESS.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="How often models.config and the version folders are checked for changes.")
def serving(bind: str | None, poll_seconds: float) -> None:
    """Serve the model repository over TF Serving's gRPC API (a stand-in for tensorflow_model_server)."""
    from serving.server import run_server

    settings = _settings()
    _setup_logging(settings)
    assert settings.model_repository is not None  # Settings resolves it under HOME
    # run_server stops gracefully on SIGTERM and SIGINT itself: it lets requests in flight finish.
    run_server(settings.model_repository, bind or settings.serving_bind, poll_seconds=poll_seconds,
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


@main.group()
def keys() -> None:
    """API keys: bearer tokens of owners (only their sha256 is stored)."""


@contextmanager
def _key_session() -> Iterator[Session]:
    """A transaction on the configured database, migrated first if it needs it."""
    from core.db import make_engine, make_session_factory, session_scope
    from core.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings)
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    except CatganError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()


@keys.command("create")
@click.option("--owner", required=True, help="Whose key: 1-100 of a-z 0-9 . _ - (starting alphanumeric).")
@click.option("--admin", is_flag=True, help="Sees and acts on every owner's things, exempt from quotas.")
def keys_create(owner: str, admin: bool) -> None:
    """Make a key for OWNER and print its token (once)."""
    from core.services import keys as key_service

    with _key_session() as session:
        key, token = key_service.create_key(session=session, owner=owner, admin=admin)
        click.echo(token)
        click.echo(f"key {key.id} ({key.prefix}...) of owner {owner}{' (admin)' if admin else ''}: the token above is "
                   "not stored anywhere (only its sha256 is); keep it now, it cannot be shown again", err=True)


@keys.command("revoke")
@click.argument("key_id_or_prefix")
def keys_revoke(key_id_or_prefix: str) -> None:
    """Revoke a key by its id or prefix: its requests get 401 from now on."""
    from core.services import keys as key_service

    with _key_session() as session:
        key = key_service.revoke_key(session=session, key_id_or_prefix=key_id_or_prefix)
        click.echo(f"revoked key {key.id} ({key.prefix}...) of owner {key.owner}")


@keys.command("list")
def keys_list() -> None:
    """Every key: id, prefix, owner, admin, created, revoked."""
    from core.services import keys as key_service

    with _key_session() as session:
        click.echo("id\tprefix\towner\tadmin\tcreated\trevoked")
        for key in key_service.list_keys(session=session):
            revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-"
            click.echo(f"{key.id}\t{key.prefix}\t{key.owner}\t{'yes' if key.admin else 'no'}\t"
                       f"{key.created_at.isoformat(timespec='seconds')}\t{revoked}")


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
