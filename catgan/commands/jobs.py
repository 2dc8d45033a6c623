"""Client commands for jobs: train, generate, jobs, watch, download, cancel, resume."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from itertools import islice
from pathlib import Path
from typing import Any

import click

from catgan.client_types import Job
from catgan.commands.common import (
    EXIT_USAGE,
    JOB_EXIT,
    ClientCommand,
    Config,
    client_options,
    emit,
    fail,
    parse_param,
    table,
)
from catgan.commands.follow import describe, follow
from catgan.uploads import safe_extract

MODEL_REF = re.compile(r"(?P<name>[^:@]+)(?::(?P<version>\d+)|@(?P<label>[a-z][a-z0-9_-]*))?")
STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
TYPES = ["train", "generate", "translate"]
JOB = click.argument("job_id", metavar="JOB", type=click.IntRange(min=1))


def _summary(job: Job) -> str:
    return f"job {job['id']} ({job.get('type')}) {job['status']}"


def _finish(config: Config, job_id: int, status: str) -> None:
    """End as the job ended: exit 0 succeeded, 1 failed, 2 cancelled."""
    job = config.client.job(job_id)
    if not config.json:
        click.echo(_summary(job) + (f": {job['error']}" if job.get("error") else ""))
    sys.exit(JOB_EXIT.get(job["status"], JOB_EXIT.get(status, 1)))


@click.command(cls=ClientCommand)
@click.option("--model", default="dcgan", show_default=True, help="The GAN to train (dcgan, keras-gan, mlp-gan, cgan, pix2pix; GET /v1/models lists what is trained).")
@click.option("--dataset", required=True, type=click.IntRange(min=1), help="Dataset id.")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A train param; V is read as JSON if it parses.")
@click.option("--model-name", default=None, help="Name to export the trained generator under.")
@click.option("--watch", "watch_", is_flag=True, help="Follow the job until it ends (exit code from its status).")
@client_options
def train(model: str, dataset: int, params: tuple[str, ...], model_name: str | None, watch_: bool,
          config: Config) -> None:
    """Queue a train job."""
    values = dict(parse_param(p) for p in params)
    job = config.client.train(dataset, model=model, params=values, model_name=model_name)
    emit(config, job, _summary(job))
    if watch_:
        _finish(config, job["id"], follow(config, job["id"]))


@click.command(cls=ClientCommand)
@click.option("--model", "model_ref", required=True, metavar="NAME[:VERSION|@LABEL]",
              help="The model: its newest served version, a version number, or a label's.")
@click.option("-n", "--count", required=True, type=click.IntRange(min=1), help="How many images.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Unpack the images into this folder (default: save the zip here as job-<id>-generate.zip).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Same seed, same images.")
@click.option("--format", "image_format", type=click.Choice(["png", "jpeg"]), default=None)
@client_options
def generate(model_ref: str, count: int, out: Path | None, seed: int | None, image_format: str | None,
             config: Config) -> None:
    """Generate images: submit, follow, download the result zip (and unpack it with -o)."""
    match = MODEL_REF.fullmatch(model_ref)
    if match is None:
        fail("usage", f"--model {model_ref!r}: use NAME, NAME:VERSION or NAME@LABEL", EXIT_USAGE)
    version = int(match["version"]) if match["version"] else None
    options = {"format": image_format} if image_format else {}
    job = config.client.generate(model_name=match["name"], version=version, label=match["label"], count=count,
                                 seed=seed, **options)
    if not config.json:
        click.echo(_summary(job))
    status = follow(config, job["id"], quiet=config.json)
    if status != "succeeded":
        if config.json:
            click.echo(json.dumps(config.client.job(job["id"])))
        _finish(config, job["id"], status)
    result = _save_result(config, job["id"], out)
    emit(config, {"job": config.client.job(job["id"])} | result,
         f"{result['count']} images in {result['path']}")


def _save_result(config: Config, job_id: int, out: Path | None) -> dict[str, Any]:
    """Download the result zip: unpacked into `out`, or saved as a zip in the current folder."""
    name = f"job-{job_id}-result.zip"
    if out is None:
        path = config.client.download_result(job_id, Path(name))
        return {"path": str(path.resolve()), "count": None}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        archive = config.client.download_result(job_id, Path(scratch) / name)
        files = safe_extract(archive, out)
    images = [f for f in files if f.suffix.lower() in {".png", ".jpg", ".jpeg"} and f.name.startswith("cat-")]
    return {"path": str(out.resolve()), "count": len(images), "files": [str(f) for f in files]}


@click.command(cls=ClientCommand)
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--type", "job_type", type=click.Choice(TYPES), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most jobs to show.")
@client_options
def jobs(status: str | None, job_type: str | None, limit: int, config: Config) -> None:
    """Jobs, newest first: id, type, status, model, progress."""
    items = list(islice(config.client.iter_jobs(status=status, type=job_type, page_size=min(limit, 200)), limit))
    emit(config, items, lambda: table([_row(j) for j in items],
                                      ["id", "type", "status", "model", "progress", "detail", "created"]))


def _row(job: Job) -> tuple[Any, ...]:
    progress = job.get("progress") or {}
    fraction = progress.get("fraction")
    return (job["id"], job.get("type"), job["status"], job.get("model"),
            f"{fraction * 100:.0f}%" if fraction is not None else "-", describe(dict(progress)) or "-",
            job.get("created_at"))


@click.command(cls=ClientCommand)
@JOB
@client_options
def watch(job_id: int, config: Config) -> None:
    """Follow JOB live until it ends; exit 0 succeeded, 1 failed, 2 cancelled."""
    _finish(config, job_id, follow(config, job_id))


@click.command(cls=ClientCommand)
@JOB
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into.")
@client_options
def download(job_id: int, out: Path, config: Config) -> None:
    """Download JOB's output into OUT: a generate/translate job's images, a train job's artifacts."""
    job = config.client.job(job_id)
    if job.get("type") in ("generate", "translate"):
        result = _save_result(config, job_id, out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        files = [config.client.download(a["id"], out / Path(a["name"]).name)
                 for a in config.client.iter_artifacts(job_id)]
        result = {"path": str(out.resolve()), "count": len(files), "files": [str(f) for f in files]}
    emit(config, result, f"{len(result['files'])} files in {result['path']}")


@click.command(cls=ClientCommand)
@JOB
@client_options
def cancel(job_id: int, config: Config) -> None:
    """Cancel JOB: a queued job never starts, a running one stops at its next step."""
    job = config.client.cancel(job_id)
    emit(config, job, _summary(job) + (" (stopping at its next step)" if job["status"] == "running" else ""))


@click.command(cls=ClientCommand)
@JOB
@client_options
def resume(job_id: int, config: Config) -> None:
    """Queue a failed or cancelled JOB again (training continues from its last checkpoint)."""
    job = config.client.resume(job_id)
    emit(config, job, _summary(job))
