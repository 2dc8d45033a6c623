"""Per-owner quotas: concurrent jobs, images per generate job, bytes of uploaded datasets.

Admins are exempt (callers pass no quota for them). The checks are soft under concurrency: two requests
racing at the edge can both pass, which overshoots by a request, never by an unbounded amount.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, PayloadTooLarge, QuotaExceeded
from core.models import Dataset, Job
from core.states import JobStatus

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def active_jobs(*, session: Session, owner: str) -> int:
    """Jobs of `owner` queued or running."""
    return session.scalar(select(func.count()).select_from(Job).where(Job.owner == owner, Job.status.in_(ACTIVE))) or 0


def check_concurrent_jobs(*, session: Session, owner: str, limit: int) -> None:
    """Refuse when `owner` has more than `limit` jobs queued or running (counting the one being added)."""
    active = active_jobs(session=session, owner=owner)
    if active > limit:
        raise QuotaExceeded(f"owner {owner!r} already has {active - 1} jobs queued or running, the most allowed "
                            f"(CATGAN_QUOTA_CONCURRENT_JOBS={limit}); wait for one to finish or cancel one, "
                            "then submit again")


def check_generate_count(*, count: int, limit: int, field: str = "count") -> None:
    """Refuse a generate job of more than `limit` images."""
    if count > limit:
        raise InvalidInput(f"a generate job may make at most {limit} images (CATGAN_QUOTA_GENERATE_IMAGES), "
                           f"not {count}; split it into several jobs", code="quota_exceeded",
                           fields={field: [f"At most {limit} images per job."]})


def uploaded_bytes(*, session: Session, owner: str) -> int:
    """Bytes of the datasets `owner` uploaded (server-side folders take no space of ours)."""
    query = select(func.coalesce(func.sum(Dataset.total_bytes), 0)).where(Dataset.owner == owner,
                                                                           Dataset.source == "upload")
    return int(session.scalar(query) or 0)


def check_dataset_bytes(*, session: Session, owner: str, new_bytes: int, limit: int) -> None:
    """Refuse an upload that would take `owner`'s datasets past `limit` bytes."""
    used = uploaded_bytes(session=session, owner=owner)
    if used + new_bytes > limit:
        raise PayloadTooLarge(f"this dataset ({new_bytes} bytes) would take owner {owner!r} past the dataset quota: "
                              f"{used} of {limit} bytes used (CATGAN_QUOTA_DATASET_BYTES); upload fewer images "
                              "or ask an admin for more room", code="quota_exceeded")
