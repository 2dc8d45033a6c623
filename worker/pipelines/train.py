"""The train pipeline: dataset → gans.train → checkpoints, samples → export → model version."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from core.db import session_scope
from core.services import models
from core.states import JobStatus
from gans.config import DCGANConfig
from gans.export import export_generator
from gans.train import TrainResult, train_dcgan
from worker.context import WorkerContext
from worker.pipelines.runner import ClaimedJob, JobInputError, finish, run_job
from worker.reporting import TrainingReporter

log = logging.getLogger(__name__)


def run_train_job(ctx: WorkerContext, job_id: int) -> None:
    """Train a queued job's GAN to its target and publish the generator."""
    run_job(ctx, job_id, lambda job: _train(ctx, job))


def _train(ctx: WorkerContext, job: ClaimedJob) -> None:
    if job.data_dir is None or not job.data_dir.is_dir():
        raise JobInputError(f"the dataset folder {job.data_dir} is missing; register the dataset again")
    config = dcgan_config(job.params)
    assert ctx.settings.checkpoint_dir is not None
    reporter = TrainingReporter(ctx, job.id)
    result = train_dcgan(config, job.data_dir, ctx.settings.checkpoint_dir / f"job-{job.id}", reporter)
    metrics = _json_metrics(result.metrics) | {"steps": result.step, "epochs": result.epoch}
    if result.stopped:
        finish(ctx, job.id, JobStatus.CANCELLED, error="cancelled by request; checkpoints kept", metrics=metrics)
        return
    _publish(ctx, job, config, result)
    finish(ctx, job.id, JobStatus.SUCCEEDED, metrics=metrics)


def dcgan_config(params: dict[str, Any]) -> DCGANConfig:
    """The gans config from a job's stored params (job-level keys such as model_name left out)."""
    names = {f.name for f in dataclasses.fields(DCGANConfig)}
    config = DCGANConfig.from_dict({k: v for k, v in params.items() if k in names})
    config.validate()
    return config


def _publish(ctx: WorkerContext, job: ClaimedJob, config: DCGANConfig, result: TrainResult) -> None:
    """Export the generator into the repository and record the model version."""
    name = job.params["model_name"]
    generator = result.model.sampler  # the EMA generator when the run keeps one
    metadata = {"training_job": job.id, "step": result.step, "params": job.params}
    with session_scope(ctx.sessions) as session:
        version = models.next_version_number(session=session, name=name)
        target = ctx.repository.publish(
            name, version, lambda d: export_generator(generator, d, config.z_dim, metadata=metadata))
        models.create_model_version(
            session=session, name=name, version=version, model=job.model, job_id=job.id,
            path=str(Path(target).relative_to(ctx.repository.root)), image_size=config.image_size,
            z_dim=config.z_dim, info={"step": result.step, "metrics": _json_metrics(result.metrics)})
    log.info("job %s published %s version %s", job.id, name, version)


def _json_metrics(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (round(float(v), 6) if v == v and abs(v) != float("inf") else None) for k, v in metrics.items()}
