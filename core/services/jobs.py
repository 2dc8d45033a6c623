"""Job service: list, inspect, cancel, resume, report on and finish jobs (`submissions` creates them).

Status changes that race (a cancel against a worker's claim) are conditional UPDATEs on the
current status, so exactly one side wins and the loser sees the new state.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from core.models import MAX_ID, Job, utcnow
from core.services.history import record_sample
from core.services.job_events import execute_move, record_progress_event
from core.services.leases import handed_back, release_job
from core.services.owners import scoped, visible
from core.states import JobStatus, check_transition, is_terminal


def get_job(*, session: Session, job_id: int, owner: str | None = None) -> Job:
    """The job, or NotFound (also when it is not `owner`'s; None: any owner's)."""
    job = session.get(Job, job_id)
    if job is None or not visible(job.owner, owner):
        raise NotFound(f"job {job_id} does not exist")
    return job


def encode_cursor(job_id: int) -> str:
    return base64.urlsafe_b64encode(str(job_id).encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The job id a cursor stands for; 422 for anything this API did not give out."""
    try:
        job_id = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        job_id = 0
    if not 0 < job_id <= MAX_ID:  # ids are 32-bit integers in both databases
        raise InvalidInput("cursor is not one this API gave out", code="invalid_cursor",
                           fields={"cursor": ["Invalid cursor."]})
    return job_id


def list_jobs(*, session: Session, owner: str | None = None, status: str | None = None, type: str | None = None,
              cursor: str | None = None, limit: int = 50) -> tuple[list[Job], str | None]:
    """A page of the jobs `owner` may see (None: all), newest first, and the cursor of the next page (None at the
    end)."""
    query = scoped(select(Job).order_by(Job.id.desc()).limit(limit + 1), Job.owner, owner)
    if status:
        query = query.where(Job.status == status)
    if type:
        query = query.where(Job.type == type)
    if cursor:
        query = query.where(Job.id < decode_cursor(cursor))
    jobs = list(session.scalars(query))
    next_cursor = encode_cursor(jobs[limit - 1].id) if len(jobs) > limit else None
    return jobs[:limit], next_cursor


def _set_status(session: Session, job_id: int, expected: JobStatus, target: JobStatus, **values: Any) -> bool:
    """Move a job from `expected` to `target` if it is still `expected`; tell whether it moved."""
    check_transition(expected, target)
    statement = update(Job).where(Job.id == job_id, Job.status == expected.value).values(status=target.value, **values)
    return execute_move(session, statement, job_id=job_id, target=target, previous=expected)


def request_cancel(*, session: Session, job_id: int, owner: str | None = None) -> Job:
    """Cancel a queued job now, or ask a running one to stop at its next step.

    Raises:
        NotFound: no such job of `owner`. Conflict: the job has already finished.
    """
    job = get_job(session=session, job_id=job_id, owner=owner)
    if _set_status(session, job_id, JobStatus.QUEUED, JobStatus.CANCELLED, finished_at=utcnow(),
                   error="cancelled before it started"):
        session.refresh(job)
        return job
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING.value)
                    .values(cancel_requested=True))
    session.refresh(job)
    if is_terminal(job.status) and job.status != JobStatus.CANCELLED:  # cancelling twice is harmless
        raise Conflict(f"job {job_id} has already {job.status}; only queued or running jobs can be cancelled",
                       code="job_finished")
    return job


def resume_job(*, session: Session, job_id: int, owner: str | None = None) -> Job:
    """Queue a failed or cancelled job again with a fresh budget of attempts; it continues from its last
    checkpoint or finished shard.

    Raises:
        NotFound: no such job of `owner`. Conflict: the job is not failed or cancelled.
    """
    job = get_job(session=session, job_id=job_id, owner=owner)
    for status in (JobStatus.FAILED, JobStatus.CANCELLED):
        if _set_status(session, job_id, status, JobStatus.QUEUED, error=None, finished_at=None, cancel_requested=False,
                       attempts=0):
            session.refresh(job)
            return job
    raise Conflict(f"job {job_id} is {job.status}; only failed or cancelled jobs can be resumed", code="not_resumable")


def record_progress(*, session: Session, job_id: int, progress: dict[str, Any],
                    metrics: dict[str, Any] | None = None, sample: bool = True) -> None:
    """Store the latest progress (and metrics) of a running job; `sample`: also keep it on the curves."""
    values: dict[str, Any] = {"progress": progress}
    if metrics is not None:
        values["metrics"] = metrics
    row = session.execute(update(Job).where(Job.id == job_id).values(**values)
                          .returning(Job.owner, Job.status)).first()
    record_progress_event(session, job_id=job_id, row=row, progress=progress)  # sent when this commits
    if sample:
        record_sample(session=session, job_id=job_id, progress=progress)  # the curves keep every report


def is_cancel_requested(*, session: Session, job_id: int) -> bool:
    """Whether someone asked this running job to stop."""
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish_job(*, session: Session, job_id: int, status: JobStatus, error: str | None = None,
               metrics: dict[str, Any] | None = None, holder: str | None = None) -> None:
    """Move a running job to a terminal status (only if `holder` still holds its lease, when given)."""
    values: dict[str, Any] = {"finished_at": utcnow(), "error": error}
    if metrics is not None:
        values["metrics"] = metrics
    release_job(session=session, job_id=job_id, holder=holder, status=status, **values)


def fail_queued_job(*, session: Session, job_id: int, error: str) -> None:
    """Fail a job that could not be sent to the broker (it never ran)."""
    _set_status(session, job_id, JobStatus.QUEUED, JobStatus.FAILED, finished_at=utcnow(), error=error)


def add_warning(*, session: Session, job_id: int, message: str) -> None:
    """Flag a running job with something it noticed but did not stop for."""
    job = get_job(session=session, job_id=job_id)
    job.warnings = [*job.warnings, message]
    session.flush()


def requeue_job(*, session: Session, job_id: int, holder: str | None = None) -> None:
    """Hand a running job back to the queue (its worker is shutting down): a clean hand-off, not a failed attempt."""
    release_job(session=session, job_id=job_id, holder=holder, status=JobStatus.QUEUED, attempts=handed_back())
