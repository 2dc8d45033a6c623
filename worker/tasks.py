"""Thin tasks: take a job id, run its pipeline. The database holds everything else."""

from __future__ import annotations

from core.queue import TASK_GENERATE, TASK_TRAIN, TASK_TRANSLATE
from worker import shutdown  # noqa: F401  (connects the shutdown signal)
from worker.app import app, settings
from worker.context import build_context


@app.task(name=TASK_TRAIN, acks_late=True, reject_on_worker_lost=True)
def train(job_id: int) -> None:
    """Train the GAN of a queued train job."""
    from worker.pipelines.train import run_train_job  # imports TensorFlow inside the task process only

    run_train_job(build_context(settings, app), job_id)


@app.task(name=TASK_GENERATE, acks_late=True, reject_on_worker_lost=True)
def generate(job_id: int) -> None:
    """Draw the images of a queued generate job."""
    from worker.pipelines.generate import run_generate_job

    run_generate_job(build_context(settings, app), job_id)


@app.task(name=TASK_TRANSLATE, acks_late=True, reject_on_worker_lost=True)
def translate(job_id: int) -> None:
    """Translate a queued job's sketches into cats (pix2pix)."""
    from worker.pipelines.translate import run_translate_job

    run_translate_job(build_context(settings, app), job_id)
