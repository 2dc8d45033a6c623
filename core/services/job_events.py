"""The events of /work/notes/events.md, made where a job changes and recorded in that change's transaction.

Status changes are conditional bulk UPDATEs: they return what an event needs (`RETURNING owner, error`, one
round trip; SQLite >= 3.35 and PostgreSQL), so no event costs an extra SELECT. Artifact and checkpoint rows
are INSERTs, so their job's owner and status are read once by primary key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Update, select
from sqlalchemy.orm import Session

from core.events import JobEvent, record_event
from core.models import Artifact, Checkpoint, Job
from core.states import JobStatus

SHEET_KIND = "sample_grid"
SHARD_KIND = "images_shard"


def execute_move(session: Session, statement: Update, *, job_id: int, target: JobStatus,
                 previous: JobStatus | None) -> bool:
    """Run a status-changing UPDATE of one job and record its `status` event if it moved; tell whether it moved."""
    row = session.execute(statement.returning(Job.owner, Job.error)).first()
    session.flush()
    if row is None:
        return False
    record_status(session, job_id=job_id, owner=row.owner, status=target, previous=previous, error=row.error)
    return True


def record_status(session: Session, *, job_id: int, owner: str, status: JobStatus | str,
                  previous: JobStatus | str | None, error: str | None) -> None:
    """Record a state change (none when the status stays the same, e.g. an expired lease claimed again)."""
    status, previous = _value(status), _value(previous) if previous is not None else None
    if status == previous:
        return
    record_event(session, JobEvent(job_id=job_id, owner=owner, type="status", status=status,
                                   data={"previous": previous, "error": error}))


def record_progress_event(session: Session, *, job_id: int, row: Row[Any] | None, progress: dict[str, Any]) -> None:
    """Record a progress report; `row` is the (owner, status) the progress UPDATE returned (None: no such job)."""
    if row is not None:
        record_event(session, JobEvent(job_id=job_id, owner=row.owner, type="progress", status=row.status,
                                       data={"progress": progress}))


def record_artifact(session: Session, artifact: Artifact) -> None:
    """Record a new (or rewritten) artifact: a sample sheet, a shard of images, or another file."""
    owner, status = _job_row(session, artifact.job_id)
    body: dict[str, Any] = {"id": artifact.id, "name": artifact.name, "kind": artifact.kind, "size": artifact.size}
    if artifact.kind == SHEET_KIND:
        kind = "sheet"
        body["step"] = (artifact.info or {}).get("step")
    elif artifact.kind == SHARD_KIND:
        kind = "shard"
        body["images"] = (artifact.info or {}).get("images")
    else:
        kind = "artifact"
    record_event(session, JobEvent(job_id=artifact.job_id, owner=owner, type=kind, status=status,
                                   data={"artifact": body}))


def record_checkpoint(session: Session, checkpoint: Checkpoint) -> None:
    """Record a saved checkpoint (one a client may resume from)."""
    owner, status = _job_row(session, checkpoint.job_id)
    record_event(session, JobEvent(job_id=checkpoint.job_id, owner=owner, type="checkpoint", status=status,
                                   data={"checkpoint": {"id": checkpoint.id, "step": checkpoint.step,
                                                        "epoch": checkpoint.epoch}}))


def status_snapshot(job: Job) -> JobEvent:
    """The synthetic `status` event of a job's current row (the first event of a fresh job stream)."""
    return JobEvent(job_id=job.id, owner=job.owner, type="status", status=_value(job.status),
                    data={"previous": None, "error": job.error})


def _job_row(session: Session, job_id: int) -> tuple[str, str]:
    row = session.execute(select(Job.owner, Job.status).where(Job.id == job_id)).one()
    return row.owner, row.status


def _value(status: JobStatus | str) -> str:
    return status.value if isinstance(status, JobStatus) else str(status)
