"""Job leases: the database, not the broker, decides which worker runs a job.

With late acks, Redis redelivers a task whose worker has not acknowledged it within the visibility
timeout — it cannot tell a live day-long job from a dead one. So a worker *claims* a job with a lease
(its id and an expiry it renews by heartbeat). A delivery of a job whose lease is alive is dropped; a
job whose lease expired (its worker died) may be claimed by anyone, and resumes from its last
checkpoint or finished shard. Every status change a worker makes names its lease, so a worker that
lost its lease cannot finish, requeue or publish a job another worker now runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.errors import LeaseLost
from core.models import Job, utcnow
from core.states import JobStatus, check_transition


def _claimable(now: datetime) -> Any:
    expired = and_(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < now)
    return or_(Job.status == JobStatus.QUEUED.value, expired)


def claim_job(*, session: Session, job_id: int, holder: str, lease_seconds: float,
              max_attempts: int | None = None) -> Job | None:
    """Take a queued job, or a running one whose lease expired; None when it is not this worker's to run.

    A job claimed `max_attempts` times already is failed instead: it keeps killing its workers.
    """
    now = utcnow()
    if max_attempts is not None and fail_exhausted(session=session, job_id=job_id, max_attempts=max_attempts, now=now):
        return None
    result = session.execute(update(Job).where(Job.id == job_id, _claimable(now)).values(
        status=JobStatus.RUNNING.value, lease_holder=holder, lease_expires_at=now + timedelta(seconds=lease_seconds),
        attempts=Job.attempts + 1, started_at=func.coalesce(Job.started_at, now)))
    session.flush()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Job, job_id, populate_existing=True)


def fail_exhausted(*, session: Session, job_id: int, max_attempts: int, now: datetime | None = None) -> bool:
    """Fail a claimable job that was started `max_attempts` times already; True if it was."""
    now = now or utcnow()
    result = session.execute(update(Job).where(Job.id == job_id, _claimable(now), Job.attempts >= max_attempts).values(
        status=JobStatus.FAILED.value, finished_at=now, lease_holder=None, lease_expires_at=None,
        error=f"the job was started {max_attempts} times and never finished (its workers died or were killed each "
              "time: look for out-of-memory kills in the worker logs); fix the cause, then resume it"))
    session.flush()
    return result.rowcount == 1  # type: ignore[attr-defined]


def renew_lease(*, session: Session, job_id: int, holder: str, lease_seconds: float) -> bool:
    """Extend this worker's lease (the heartbeat); False if the lease is no longer this worker's."""
    result = session.execute(update(Job).where(
        Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.lease_holder == holder,
    ).values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)))
    return result.rowcount == 1  # type: ignore[attr-defined]


def release_job(*, session: Session, job_id: int, holder: str | None, status: JobStatus, **values: Any) -> None:
    """Move a running job to `status` (terminal, or queued to hand it back) and end its lease.

    Raises:
        LeaseLost: another worker holds the job now. IllegalTransition: the job is not running.
    """
    check_transition(JobStatus.RUNNING, status)
    condition = [Job.id == job_id, Job.status == JobStatus.RUNNING.value]
    if holder is not None:
        condition.append(Job.lease_holder == holder)
    result = session.execute(update(Job).where(*condition).values(
        status=status.value, lease_holder=None, lease_expires_at=None, **values))
    session.flush()
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    job = session.get(Job, job_id, populate_existing=True)
    if job is not None and job.status == JobStatus.RUNNING and holder is not None:
        raise LeaseLost(f"job {job_id} is now run by {job.lease_holder}")
    check_transition(job.status if job is not None else JobStatus.RUNNING, status)


def require_lease(*, session: Session, job_id: int, holder: str) -> None:
    """Raise LeaseLost unless this worker still holds the job (checked inside a writing transaction)."""
    held = session.scalar(select(Job.id).where(Job.id == job_id, Job.status == JobStatus.RUNNING.value,
                                               Job.lease_holder == holder).with_for_update())
    if held is None:
        raise LeaseLost(f"job {job_id} is no longer held by {holder}")


def expired_jobs(*, session: Session, now: datetime | None = None) -> list[int]:
    """Running jobs whose worker stopped renewing its lease."""
    now = now or utcnow()
    return list(session.scalars(select(Job.id).where(Job.status == JobStatus.RUNNING.value,
                                                     Job.lease_expires_at < now).order_by(Job.id)))


def requeue_expired(*, session: Session, job_id: int) -> bool:
    """Put a running job whose lease expired back in the queue; False if it was renewed or moved meanwhile."""
    result = session.execute(update(Job).where(Job.id == job_id, _claimable(utcnow()),
                                               Job.status == JobStatus.RUNNING.value).values(
        status=JobStatus.QUEUED.value, lease_holder=None, lease_expires_at=None))
    return result.rowcount == 1  # type: ignore[attr-defined]


def stale_queued_jobs(*, session: Session, older_than: datetime) -> list[int]:
    """Queued jobs created before `older_than` (candidates for a lost broker message)."""
    return list(session.scalars(select(Job.id).where(Job.status == JobStatus.QUEUED.value,
                                                     Job.created_at < older_than).order_by(Job.id)))
