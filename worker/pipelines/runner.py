"""Claim a job, run its body, and record how it ended — failing it with a message users can act on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.db import session_scope
from core.errors import LeaseLost
from core.logs import job_context
from core.models import LOCAL_OWNER
from core.queue import enqueue_job
from core.services import jobs, leases
from core.services.datasets import dataset_folder
from core.states import JobStatus
from gans.contract import ModelKind, Signature
from worker.context import WorkerContext
from worker.errors import EXPECTED, JobInputError
from worker.faults import describe_failure
from worker.lease import Heartbeat, holder_id, lease_lost
from worker.retry import retrying
from worker.shutdown import shutting_down

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceVersion:
    id: int
    name: str
    version: int
    export_dir: Path
    kind: ModelKind  # what the model version recorded: a generate job's inputs follow from it
    signature: Signature  # the inputs and outputs its export serves (names, dtypes, shapes)
    classes: tuple[str, ...] = ()  # a conditional model's class names, in label order
    training_job: int | None = None
    step: int | None = None  # the training step the generator was exported at


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    model: str
    params: dict[str, Any]
    data_dir: Path | None
    source: SourceVersion | None
    dataset_id: int | None = None
    resume_from: str | None = None  # checkpoint prefix relative to the checkpoint dir
    owner: str = LOCAL_OWNER  # who submitted it: a train job's model version is theirs


def claim(ctx: WorkerContext, job_id: int) -> ClaimedJob | None:
    """Mark a queued job running and snapshot what the pipeline needs; None if not claimable."""
    with session_scope(ctx.sessions) as session:
        job = leases.claim_job(session=session, job_id=job_id, holder=holder_id(),
                               lease_seconds=ctx.settings.lease_seconds, max_attempts=ctx.settings.max_job_attempts)
        if job is None:
            log.info("job %s is not this worker's to run (finished, cancelled, or another worker holds its lease); "
                     "dropping the task", job_id)
            return None
        if job.attempts > 1:
            log.info("job %s: attempt %d, resuming where the last one stopped", job_id, job.attempts)
        data_dir = dataset_folder(job.dataset, ctx.settings) if job.dataset else None
        version = job.source_model_version
        source = None
        if version is not None:
            assert ctx.settings.model_repository is not None
            source = SourceVersion(version.id, version.name, version.version,
                                   ctx.settings.model_repository / version.path, ModelKind(version.kind),
                                   Signature.from_dict(version.signature),
                                   tuple(version.info.get("classes") or ()), version.job_id, version.info.get("step"))
        resume_from = job.resume_from.path if job.resume_from is not None else None
        return ClaimedJob(job.id, job.model, dict(job.params), data_dir, source, job.dataset_id, resume_from,
                          job.owner)


def finish(ctx: WorkerContext, job_id: int, status: JobStatus, *, error: str | None = None,
           metrics: dict[str, Any] | None = None) -> None:
    def attempt() -> None:
        with session_scope(ctx.sessions) as session:
            jobs.finish_job(session=session, job_id=job_id, status=status, error=error, metrics=metrics,
                            holder=holder_id())
    retrying(attempt, f"job {job_id} finish")


def requeue(ctx: WorkerContext, job_id: int, job_type: str) -> None:
    """Hand the job back: queued again in the database, and a new message on the broker."""
    with session_scope(ctx.sessions) as session:
        jobs.requeue_job(session=session, job_id=job_id, holder=holder_id())
    enqueue_job(ctx.celery, job_id, job_type)
    log.info("worker shutting down: job %s handed back to the queue", job_id)


def require_export(job: ClaimedJob) -> SourceVersion:
    """The model version a generate/translate job draws from, present on disk."""
    if job.source is None or not job.source.export_dir.is_dir():
        raise JobInputError("the model version's export is missing from the model repository")
    return job.source


def end_interrupted(ctx: WorkerContext, job_id: int, job_type: str, *, error: str = "cancelled by request",
                    metrics: dict[str, Any] | None = None, on_cancel: Callable[[], None] | None = None) -> None:
    """Hand the job back if this worker is shutting down, else it was cancelled (finished shards and checkpoints
    stay): `on_cancel` runs first, then the job ends cancelled with `error` and `metrics`.

    A job whose lease was lost is another worker's now: write nothing.
    """
    if lease_lost():
        return
    if shutting_down():
        requeue(ctx, job_id, job_type)
        return
    if on_cancel is not None:
        on_cancel()
    finish(ctx, job_id, JobStatus.CANCELLED, error=error, metrics=metrics)


def run_job(ctx: WorkerContext, job_id: int, body: Callable[[ClaimedJob], None]) -> None:
    """Claim and run the job, its id on every log line meanwhile."""
    with job_context(job_id):
        _run_job(ctx, job_id, body)


def _run_job(ctx: WorkerContext, job_id: int, body: Callable[[ClaimedJob], None]) -> None:
    """Claim and run; the errors of `worker.errors` fail the job quietly, anything else fails it and re-raises."""
    job = claim(ctx, job_id)
    if job is None:
        return
    try:
        with Heartbeat(ctx, job_id):
            body(job)
    except LeaseLost as exc:
        log.warning("job %s: %s; leaving it to that worker", job_id, exc)
    except EXPECTED as exc:  # never a bare ValueError: one out of TensorFlow or NumPy is a bug to show
        log.warning("job %s failed: %s", job_id, exc)
        _fail(ctx, job_id, str(exc))
    except Exception as exc:
        fault = describe_failure(exc, job_id=job_id)
        if fault is not None:  # an expected resource fault (memory, disk, damaged files): fail it, do not re-raise
            log.warning("job %s failed: %s", job_id, fault, exc_info=exc)
            _fail(ctx, job_id, fault)
            return
        log.exception("job %s failed unexpectedly", job_id)
        _fail(ctx, job_id, f"unexpected {exc.__class__.__name__}: {exc}. The worker log has the traceback.")
        raise


def _fail(ctx: WorkerContext, job_id: int, error: str) -> None:
    """Fail the job, unless another worker holds it now (then its outcome is that worker's)."""
    try:
        finish(ctx, job_id, JobStatus.FAILED, error=error)
    except LeaseLost as exc:
        log.warning("job %s: not failing it: %s", job_id, exc)
