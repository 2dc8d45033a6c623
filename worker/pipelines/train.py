"""The train pipeline: dataset → gans.train → checkpoints, samples, quality → export → model version."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from core.db import session_scope
from core.errors import LeaseLost
from core.services import leases, models
from core.serving_config import models_config_lock, write_models_config
from core.states import JobStatus, JobType
from gans.registry import get_spec, make_config
from gans.spec import ModelSpec
from gans.train import TrainResult, train_gan
from worker.context import WorkerContext
from worker.lease import holder_id, lease_lost
from worker.pipelines.runner import ClaimedJob, JobInputError, finish, requeue, run_job
from worker.reporting import TrainingReporter
from worker.shutdown import shutting_down

log = logging.getLogger(__name__)


def run_train_job(ctx: WorkerContext, job_id: int) -> None:
    """Train a queued job's GAN to its target and publish the generator."""
    run_job(ctx, job_id, lambda job: _train(ctx, job))


def _train(ctx: WorkerContext, job: ClaimedJob) -> None:
    if job.data_dir is None or not job.data_dir.is_dir():
        raise JobInputError(f"the dataset folder {job.data_dir} is missing; register the dataset again")
    spec = get_spec(job.model)
    config = make_config(spec, job.params, job.data_dir)
    assert ctx.settings.checkpoint_dir is not None
    reporter = TrainingReporter(ctx, job.id)
    init_from = _resume_source(ctx, job)
    weights = ctx.settings.inception_weights
    result = train_gan(spec, config, job.data_dir, ctx.settings.checkpoint_dir / f"job-{job.id}", reporter,
                       init_from=init_from, inception_weights=str(weights) if weights else None)
    metrics = reporter.final_metrics(result)
    if result.stopped and lease_lost():
        return  # another worker runs the job now; it owns the outcome
    if result.stopped and shutting_down():
        requeue(ctx, job.id, JobType.TRAIN)  # the next worker resumes from the checkpoint just saved
        return
    if result.stopped:
        finish(ctx, job.id, JobStatus.CANCELLED, error="cancelled by request; checkpoints kept", metrics=metrics)
        return
    _publish(ctx, job, spec, config, result, metrics)
    finish(ctx, job.id, JobStatus.SUCCEEDED, metrics=metrics)


def _require_lease_or_unpublish(session: Any, job_id: int, target: Path) -> None:
    """Record the version only while this worker still holds the job; else remove the files just published."""
    try:
        leases.require_lease(session=session, job_id=job_id, holder=holder_id())
    except LeaseLost:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _resume_source(ctx: WorkerContext, job: ClaimedJob) -> str | None:
    """The checkpoint prefix a job asked to start from (`resume_from`), checked to be on disk."""
    if job.resume_from is None:
        return None
    assert ctx.settings.checkpoint_dir is not None
    prefix = ctx.settings.checkpoint_dir / job.resume_from
    if not Path(f"{prefix}.index").exists():
        raise JobInputError(f"checkpoint {job.resume_from} is no longer on disk (pruned or deleted); "
                            "pick a kept checkpoint")
    return str(prefix)


def _publish(ctx: WorkerContext, job: ClaimedJob, spec: ModelSpec, config: Any, result: TrainResult,
             metrics: dict[str, Any]) -> None:
    """Export the generator into the repository and record the model version."""
    name = job.params["model_name"]
    metadata = {"training_job": job.id, "dataset": job.dataset_id, "step": result.step, "metrics": metrics,
                "params": job.params}
    with session_scope(ctx.sessions) as session:
        leases.require_lease(session=session, job_id=job.id, holder=holder_id())
        if models.publisher(session=session, name=name) not in (None, job.owner):
            raise JobInputError(f"another owner published a model named {name!r} while this job ran; train again "
                                "with another model_name (resume_from this job's last checkpoint)")
        version = models.next_version_number(session=session, name=name)
    target = ctx.repository.publish(name, version, lambda d: spec.export(result.model, config, d, metadata))
    info = {"step": result.step, "metrics": metrics, "classes": list(getattr(config, "class_names", ()) or ())}
    with models_config_lock(ctx.settings), session_scope(ctx.sessions) as session:
        _require_lease_or_unpublish(session, job.id, target)
        models.create_model_version(
            session=session, name=name, version=version, model=job.model, job_id=job.id,
            path=str(Path(target).relative_to(ctx.repository.root)), image_size=config.image_size,
            z_dim=int(getattr(config, "z_dim", 0)), info=info, owner=job.owner)  # z_dim 0: image-to-image
        write_models_config(session, ctx.settings)  # under the lock until this row commits
    log.info("job %s published %s version %s", job.id, name, version)

