"""The translate pipeline (pix2pix): every image of a dataset → the model → PNGs in a zip, plus a preview."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np

from core.db import session_scope
from core.services import artifacts
from core.states import JobStatus, JobType
from core.storage import atomic_output
from serving.local import translate_images
from worker.context import WorkerContext
from worker.images import contact_sheet, encode_png
from worker.pipelines.generate import FIXED_ZIP_TIME
from worker.pipelines.runner import ClaimedJob, JobInputError, end_interrupted, finish, require_export, run_job
from worker.reporting import JobReporter

BATCH = 8
PREVIEW_PAIRS = 8


def run_translate_job(ctx: WorkerContext, job_id: int) -> None:
    """Translate a queued job's dataset into `translated.zip`."""
    run_job(ctx, job_id, lambda job: _translate(ctx, job))


def _translate(ctx: WorkerContext, job: ClaimedJob) -> None:
    source = require_export(job)
    if job.data_dir is None or not job.data_dir.is_dir():
        raise JobInputError(f"the dataset folder {job.data_dir} is missing; upload the images again")
    from gans.data import list_images

    paths = [Path(p) for p in list_images(job.data_dir)]
    reporter, started, preview = JobReporter(ctx, job.id), time.monotonic(), []
    out = artifacts.job_artifact_dir(ctx.settings, job.id) / "translated.zip"
    with atomic_output(out) as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as archive:
        for start in range(0, len(paths), BATCH):
            if reporter.interrupted():
                break
            batch = paths[start:start + BATCH]
            inputs = load_inputs(batch, source.image_size, bool(job.params.get("from_photos")))
            outputs = translate_images(str(source.export_dir), inputs)
            for path, image in zip(batch, outputs, strict=True):
                name = str(path.relative_to(job.data_dir).with_suffix(".png"))
                archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME), encode_png(image))
            preview.extend(np.concatenate([inputs, outputs], axis=2)[: PREVIEW_PAIRS - len(preview)])
            done = start + len(batch)
            reporter.progress({"step": done, "total_steps": len(paths), "images_done": done}, force=done == len(paths))
    if reporter.interrupted():
        end_interrupted(ctx, job.id, JobType.TRANSLATE, out)
        return
    _record(ctx, job.id, out, np.stack(preview))
    seconds = time.monotonic() - started
    finish(ctx, job.id, JobStatus.SUCCEEDED, metrics={"images": len(paths), "seconds": round(seconds, 3)})


def load_inputs(paths: list[Path], image_size: int, from_photos: bool) -> np.ndarray:
    """uint8 (N, S, S, 3) model inputs: centre-cropped, resized, optionally turned into edge sketches."""
    import tensorflow as tf

    from gans.data import load_image
    from gans.edges import edge_sketch
    from gans.export import to_uint8

    images = [to_uint8(load_image(tf.constant(str(p)), image_size, 3)).numpy() for p in paths]
    return np.stack([edge_sketch(i) if from_photos else i for i in images])


def _record(ctx: WorkerContext, job_id: int, archive: Path, preview: np.ndarray) -> None:
    with session_scope(ctx.sessions) as session:
        artifacts.add_artifact_file(session=session, settings=ctx.settings, job_id=job_id, kind="images",
                                    path=archive, content_type="application/zip")
        artifacts.add_artifact_bytes(session=session, settings=ctx.settings, job_id=job_id, kind="preview_grid",
                                     name="grid.png", data=encode_png(contact_sheet(preview, columns=2)),
                                     content_type="image/png", info={"pairs": len(preview)})
