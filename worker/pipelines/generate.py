"""The generate pipeline: latents by (seed, index) → generator → PNGs in a zip, plus a preview sheet."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np

from core.db import session_scope
from core.services import artifacts
from core.states import JobStatus, JobType
from core.storage import atomic_output
from serving.latents import latent_batch
from serving.local import generate_images
from worker.context import WorkerContext
from worker.images import contact_sheet, encode_png
from worker.pipelines.runner import ClaimedJob, end_interrupted, finish, require_export, run_job
from worker.reporting import JobReporter

BATCH = 64
PREVIEW = 64
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp keeps the archive's bytes reproducible


def run_generate_job(ctx: WorkerContext, job_id: int) -> None:
    """Draw a queued job's images into `images.zip`."""
    run_job(ctx, job_id, lambda job: _generate(ctx, job))


def _generate(ctx: WorkerContext, job: ClaimedJob) -> None:
    source = require_export(job)
    export_dir = str(source.export_dir)
    count, seed = int(job.params["count"]), int(job.params["seed"])
    labels = image_labels(job.params, source.classes)
    reporter = JobReporter(ctx, job.id)
    out = artifacts.job_artifact_dir(ctx.settings, job.id) / "images.zip"
    started, preview = time.monotonic(), []
    with atomic_output(out) as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as archive:
        for start in range(0, count, BATCH):
            if reporter.interrupted():
                break
            size = min(BATCH, count - start)
            batch_labels = labels[start:start + size] if labels is not None else None
            images = generate_images(export_dir, latent_batch(seed, start, size, source.z_dim), batch_labels)
            _write_images(archive, images, start, batch_labels, source.classes)
            preview.extend(images[: max(0, PREVIEW - len(preview))])
            done = start + len(images)
            reporter.progress(_progress(done, count, started), force=done == count)
    if reporter.interrupted():
        end_interrupted(ctx, job.id, JobType.GENERATE, out)
        return
    _record(ctx, job, out, np.stack(preview))
    seconds = time.monotonic() - started
    finish(ctx, job.id, JobStatus.SUCCEEDED,
           metrics={"images": count, "seconds": round(seconds, 3), "images_per_second": round(count / seconds, 2)})


def image_labels(params: dict, classes: tuple[str, ...]) -> np.ndarray | None:
    """The class label of every image of a conditional model (None for an unconditional one).

    With class_counts, images come class by class in the model's class order; without, they cycle.
    """
    if not classes:
        return None
    counts = params.get("class_counts")
    if counts:
        return np.concatenate([np.full(counts[name], i, np.int32) for i, name in enumerate(classes)])
    return (np.arange(int(params["count"])) % len(classes)).astype(np.int32)


def _write_images(archive: zipfile.ZipFile, images: np.ndarray, start: int, labels: np.ndarray | None,
                  classes: tuple[str, ...]) -> None:
    for offset, image in enumerate(images):
        folder = f"{classes[labels[offset]]}/" if labels is not None else ""
        info = zipfile.ZipInfo(f"{folder}cat-{start + offset:07d}.png", date_time=FIXED_ZIP_TIME)
        archive.writestr(info, encode_png(image), compress_type=zipfile.ZIP_STORED)


def _progress(done: int, count: int, started: float) -> dict[str, float | int | None]:
    rate = done / max(time.monotonic() - started, 1e-9)
    return {"step": done, "total_steps": count, "images_done": done, "images_per_second": round(rate, 2),
            "eta_seconds": round((count - done) / rate, 1) if rate else None}


def _record(ctx: WorkerContext, job: ClaimedJob, archive: Path, preview: np.ndarray) -> None:
    assert job.source is not None
    info = {"count": job.params["count"], "seed": job.params["seed"], "model": job.source.name,
            "version": job.source.version}
    with session_scope(ctx.sessions) as session:
        artifacts.add_artifact_file(session=session, settings=ctx.settings, job_id=job.id, kind="images",
                                    path=archive, content_type="application/zip", info=info)
        artifacts.add_artifact_bytes(session=session, settings=ctx.settings, job_id=job.id, kind="preview_grid",
                                     name="grid.png", data=encode_png(contact_sheet(preview)),
                                     content_type="image/png", info={"images": len(preview)})
