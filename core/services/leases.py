"""Job leases: the database, not the broker, decides which worker runs a job.

With late acks, Redis redelivers a task whose worker has not acknowledged it within the visibility
timeout — it cannot tell a live day-long job from a dead one. So a worker *claims* a job with a lease
(its id and an expiry it renews by heartbeat). A delivery of a job whose lease is alive is dropped; a
job whose lease expired (its worker died) may be claimed by anyone, and resumes from its last
checkpoint or finished shard. Every status change a worker makes names its lease, so a worker that
lost its lease cannot finish, requeue or publish a job another worker now runs.

Leases are timed by the database's clock (`db_now`), never a host's: a worker whose clock runs fast
must not take live jobs, nor one whose clock runs slow hand out leases that are already over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import DateTime

from core.errors import LeaseLost
from core.models import Job, utcnow
from core.services.job_events import execute_move
from core.states import JobStatus, check_transition


class _db_now(FunctionElement[datetime]):  # noqa: N801 - a SQL function, named like one
    """The database's clock plus N seconds: one clock for every host, however skewed theirs are."""

    type = DateTime(timezone=True)
    inherit_cache = True
    name = "db_now"


@compiles(_db_now)
def _db_now_default(element: _db_now, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(now() + make_interval(secs => {compiler.process(element.clauses, **kw)}))"


@compiles(_db_now, "sqlite")
def _db_now_sqlite(element: _db_now, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps these columns as the text SQLAlchemy writes ("YYYY-MM-DD HH:MM:SS.ffffff", UTC): write
    # and compare the database's time in that same form, so text order is time order.
    seconds = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%.3f seconds', {seconds})) || '000')"


def db_now(seconds: float = 0.0) -> Any:
    """The database's now() + `seconds`, as an SQL expression (leases are timed by it, never by a host)."""
    return _db_now(cast(literal(float(seconds)), Float))


def _expired() -> Any:
    """A running job whose lease ran out, or that has none (running since before leases existed)."""
    return and_(Job.status == JobStatus.RUNNING.value,
                or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < db_now()))


def claim_job(*, session: Session, job_id: int, holder: str, lease_seconds: float,
              max_attempts: int | None = None) -> Job | None:
    """Take a queued job, or a running one whose lease expired; None when it is not this worker's to run.

    A job claimed `max_attempts` times already (without handing it back cleanly) is failed instead: it keeps
    killing its workers.
    """
    if max_attempts is not None and fail_exhausted(session=session, job_id=job_id, max_attempts=max_attempts):
        return None
    values = {"status": JobStatus.RUNNING.value, "lease_holder": holder, "lease_expires_at": db_now(lease_seconds),
              "attempts": Job.attempts + 1, "started_at": func.coalesce(Job.started_at, utcnow())}
    if not _move_from_claimable(session, job_id, JobStatus.RUNNING, values):
        return None
    return session.get(Job, job_id, populate_existing=True)


def _move_from_claimable(session: Session, job_id: int, target: JobStatus, values: dict[str, Any],
                         *where: Any) -> bool:
    """Move a claimable job (queued, else running with an expired lease) to `target`; tell whether it moved.

    Two conditional UPDATEs rather than one, so the `status` event knows the status it left (RETURNING gives
    only new values); the first is the usual case, so it costs one statement.
    """
    claimable = ((JobStatus.QUEUED, Job.status == JobStatus.QUEUED.value), (JobStatus.RUNNING, _expired()))
    for previous, condition in claimable:
        statement = update(Job).where(Job.id == job_id, condition, *where).values(**values)
        if execute_move(session, statement, job_id=job_id, target=target, previous=previous):
            return True
    return False


def fail_exhausted(*, session: Session, job_id: int, max_attempts: int) -> bool:
    """Fail a claimable job that was started `max_attempts` times already; True if it was."""
    values = {"status": JobStatus.FAILED.value, "finished_at": utcnow(), "lease_holder": None, "lease_expires_at": None,
              "error": f"the job was started {max_attempts} times and never finished (its workers died or were killed "
                       "each time: look for out-of-memory kills in the worker logs); fix the cause, then resume it"}
    return _move_from_claimable(session, job_id, JobStatus.FAILED, values, Job.attempts >= max_attempts)


def renew_lease(*, session: Session, job_id: int, holder: str, lease_seconds: float) -> bool:
    """Extend this worker's lease (the heartbeat); False if the lease is no longer this worker's."""
    result = session.execute(update(Job).where(
        Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.lease_holder == holder,
    ).values(lease_expires_at=db_now(lease_seconds)))
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
    statement = update(Job).where(*condition).values(status=status.value, lease_holder=None, lease_expires_at=None,
                                                     **values)
    if execute_move(session, statement, job_id=job_id, target=status, previous=JobStatus.RUNNING):
        return
    job = session.get(Job, job_id, populate_existing=True)
    if job is not None and job.status == JobStatus.RUNNING and holder is not None:
        raise LeaseLost(f"job {job_id} is now run by {job.lease_holder}")
    check_transition(job.status if job is not None else JobStatus.RUNNING, status)


def require_lease(*, session: Session, job_id: int, holder: str) -> None:
    """Raise LeaseLost unless this worker still holds the job; then no one can take it until this commits.

    A no-op UPDATE rather than SELECT ... FOR UPDATE: SQLite ignores FOR UPDATE, but an UPDATE takes its
    write lock, so a claim by another worker waits for this transaction on both databases.
    """
    result = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING.value,
                                               Job.lease_holder == holder).values(lease_holder=holder))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"job {job_id} is no longer held by {holder}")


def expired_jobs(*, session: Session) -> list[int]:
    """Running jobs whose worker stopped renewing its lease (or that never had one)."""
    return list(session.scalars(select(Job.id).where(_expired()).order_by(Job.id)))


def requeue_expired(*, session: Session, job_id: int) -> bool:
    """Put a running job whose lease expired back in the queue; False if it was renewed or moved meanwhile."""
    statement = update(Job).where(Job.id == job_id, _expired()).values(
        status=JobStatus.QUEUED.value, lease_holder=None, lease_expires_at=None)
    return execute_move(session, statement, job_id=job_id, target=JobStatus.QUEUED, previous=JobStatus.RUNNING)


def handed_back() -> Any:
    """The attempts of a job its worker handed back cleanly: that claim did not fail, so it does not count."""
    return case((Job.attempts > 0, Job.attempts - 1), else_=0)


def stale_queued_jobs(*, session: Session, older_than: datetime) -> list[int]:
    """Queued jobs created before `older_than` (candidates for a lost broker message)."""
    return list(session.scalars(select(Job.id).where(Job.status == JobStatus.QUEUED.value,
                                                     Job.created_at < older_than).order_by(Job.id)))
