"""`catgan watch`'s view of a job: a live tqdm bar (on stderr) or JSON lines of its events (on stdout)."""

from __future__ import annotations

import json
from typing import Any

import click
from tqdm import tqdm

from catgan.commands.common import Config
from catgan.sse import Event


def follow(config: Config, job_id: int, *, quiet: bool = False) -> str:
    """Follow the job until it ends; return its final status. `quiet`: no bar and no lines (for --json callers)."""
    if config.json and not quiet:
        return _follow_json(config, job_id)
    bar = tqdm(total=None, unit="step", dynamic_ncols=True, disable=quiet or config.json,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} {desc}")
    status, sheet = "queued", None
    try:
        for event in config.client.watch(job_id):
            data = event.payload
            status = data.get("status", status)
            if event.event == "progress":
                _draw(bar, data.get("progress") or {}, status)
            elif event.event == "sheet" and not quiet:
                sheet = _announce_sheet(config, bar, data.get("artifact") or {}, sheet)
            elif event.event == "status":
                bar.set_description_str(status, refresh=True)
    finally:
        bar.close()
    return status


def _follow_json(config: Config, job_id: int) -> str:
    status = "queued"
    for event in config.client.watch(job_id):
        status = event.payload.get("status", status)
        click.echo(json.dumps(_line(event)))
    return status


def _line(event: Event) -> dict[str, Any]:
    return {"event": event.event, "id": event.id, "data": event.payload}


def _draw(bar: tqdm, progress: dict[str, Any], status: str) -> None:
    """epoch/step, losses, images/s and the service's ETA."""
    if progress.get("total_steps"):
        bar.total = progress["total_steps"]
    bar.n = progress.get("step") or progress.get("images_done") or 0
    bar.set_description_str(describe(progress, status), refresh=True)


def describe(progress: dict[str, Any], status: str = "") -> str:
    """One line: status, epoch, g/d losses, images/s, ETA."""
    parts = [status] if status else []
    if progress.get("epoch") is not None:
        parts.append(f"epoch {progress['epoch']}")
    if progress.get("g_loss") is not None and progress.get("d_loss") is not None:
        parts.append(f"g {progress['g_loss']:.3f} d {progress['d_loss']:.3f}")
    if progress.get("images_per_second"):
        parts.append(f"{progress['images_per_second']:.0f} img/s")
    if progress.get("eta_seconds") is not None:
        parts.append(f"eta {progress['eta_seconds']:.0f}s")
    return ", ".join(parts)


def _announce_sheet(config: Config, bar: tqdm, artifact: dict[str, Any], previous: int | None) -> int | None:
    """Print the newest sample sheet's download URL when it changes."""
    artifact_id = artifact.get("id")
    if artifact_id is None or artifact_id == previous:
        return previous
    where = config.client.artifact_url(artifact_id)
    bar.write(f"sheet {artifact.get('name', artifact_id)}: {where}", file=click.get_text_stream("stdout"))
    return artifact_id
