"""The train pipeline: dataset → gans.train → checkpoints, samples, quality → export → model version."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.db import session_scope
from core.errors import InvalidInput
from core.names import check_model_name
from core.services import jobs, leases, models
from core.serving_config import models_config_lock, render_committed
from core.states import JobStatus, JobType
from gans.registry import get_spec, make_config
from gans.spec import ModelSpec
from gans.train import TrainResult, train_gan
from worker.context import WorkerContext
from worker.errors import JobInputError
from worker.evolution import record_evolution
from worker.lease import holder_id
from worker.pipelines.runner import ClaimedJob, end_interrupted, run_job
from worker.reporting import TrainingReporter
from worker.retry import retrying

log = logging.getLogger(__name__)


def run_train_job(ctx: WorkerContext, job_id: int) -> None:
    """Train a queued job's GAN to its target and publish the generator."""
    run_job(ctx, job_id, lambda job: _train(ctx, job))


def _train(ctx: WorkerContext, job: ClaimedJob) -> None:
    if _finish_if_published(ctx, job.id):
        return  # a worker died after publishing: the job's one version exists, so train no second one
    _require_model_name(job)
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
    reporter.end_progress(finished=not result.stopped)
    if result.stopped:  # handed back (the next worker resumes from the checkpoint just saved), or cancelled
        end_interrupted(ctx, job.id, JobType.TRAIN, error="cancelled by request; checkpoints kept", metrics=metrics,
                        on_cancel=lambda: record_evolution(reporter))
        return
    record_evolution(reporter)  # the sheets so far as one animation, while the lease is held
    _publish(ctx, job, spec, config, result, metrics)  # and finishes the job, in the transaction of the version


def _finish_if_published(ctx: WorkerContext, job_id: int) -> bool:
    """Finish a job that already has its model version (its worker died before finishing it); True if it had.

    Under the config lock, as a publish, so whoever sees the job succeeded and takes the lock reads models.config
    with its version."""
    def attempt() -> bool:
        with session_scope(ctx.sessions) as session:
            version = models.version_of_job(session=session, job_id=job_id)
            if version is None:
                return False
            jobs.finish_job(session=session, job_id=job_id, status=JobStatus.SUCCEEDED,
                            metrics=version.info.get("metrics"), holder=holder_id())
            log.info("job %s already published %s version %s; finishing it", job_id, version.name, version.version)
            return True
    with models_config_lock(ctx.settings):  # as a publish: the job succeeds and its version is rendered under it
        if not retrying(attempt, f"job {job_id} finish"):
            return False
        _write_models_config(ctx)  # the dead worker may have committed the version but not rendered it
    return True


def _require_model_name(job: ClaimedJob) -> None:
    """Refuse, before training, a job stored with a name that breaks the rule (submitted before it was enforced)."""
    try:
        check_model_name(job.params.get("model_name"))
    except InvalidInput as exc:
        raise JobInputError(f"{exc.message}; train again with a valid model_name") from exc


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
    """Export the generator, then in one transaction place it, record its version and finish the job succeeded.

    The version is max(database, disk) + 1, the next free one if the rename collides; if the transaction fails
    the folder is taken back out, so a failed publish leaves no version without a row. `models.config` is
    rendered after the commit, under the lock, so it only ever names committed versions.
    """
    name = job.params["model_name"]
    metadata = {"training_job": job.id, "dataset": job.dataset_id, "step": result.step, "metrics": metrics,
                "params": job.params}
    with session_scope(ctx.sessions) as session:  # fail before the export if the name was taken meanwhile
        _require_publishable(session, job, name)
    staging = ctx.repository.stage(lambda d: spec.export(result.model, config, d, metadata))
    # what the model declares of this export (kind, signature, sizes, classes): what generate jobs read back
    record = {"model": job.model, "record": spec.declaration.record(config),
              "info": {"step": result.step, "metrics": metrics}}
    try:
        with models_config_lock(ctx.settings):
            version = retrying(lambda: _record_version(ctx, job, name, staging, record, metrics),
                               f"job {job.id} publish")
            _write_models_config(ctx)
    finally:
        ctx.repository.discard(staging)  # gone already when placed; else whatever the failed attempt left
    log.info("job %s published %s version %s", job.id, name, version)


def _require_publishable(session: Any, job: ClaimedJob, name: str) -> None:
    """This worker still holds the job, and the name is free or the job owner's."""
    leases.require_lease(session=session, job_id=job.id, holder=holder_id())
    if models.publisher(session=session, name=name) not in (None, job.owner):
        raise JobInputError(f"another owner published a model named {name!r} while this job ran; train again "
                            "with another model_name (resume_from this job's last checkpoint)")


def _record_version(ctx: WorkerContext, job: ClaimedJob, name: str, staging: Path, record: dict[str, Any],
                    metrics: dict[str, Any]) -> int:
    """One transaction: check the lease, rename the export into place, add the version row, finish the job."""
    placed: int | None = None
    try:
        with session_scope(ctx.sessions) as session:
            _require_publishable(session, job, name)
            placed = ctx.repository.place(staging, name, models.next_version_number(session=session, name=name))
            models.create_model_version(session=session, name=name, version=placed, job_id=job.id, owner=job.owner,
                                        path=ctx.repository.relative_path(name, placed), **record)
            jobs.finish_job(session=session, job_id=job.id, status=JobStatus.SUCCEEDED, metrics=metrics,
                            holder=holder_id())
        return placed
    except BaseException:
        if placed is not None:  # not committed: take the folder back out (to staging, for a retry)
            ctx.repository.unplace(name, placed, staging)
        raise


def _write_models_config(ctx: WorkerContext) -> None:
    """Render what the database committed into models.config (the caller holds the config lock)."""
    try:
        render_committed(ctx.sessions, ctx.settings)
    except OSError:
        # the version is committed; the next config writer renders it (the file is the database's projection)
        log.exception("could not write models.config; the next publish or label change writes it")
