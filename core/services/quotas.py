"""Per-owner quotas: concurrent jobs, images per generate job, bytes of uploaded datasets and of stored artifacts.

Admins are exempt (callers pass no quota for them). A check runs after the new row is added, inside its
transaction, and holds the owner's lock until commit, so racing requests cannot overshoot: on SQLite the
row's INSERT already holds the database's write lock; on PostgreSQL an advisory lock per owner and quota
makes the second request count after the first commits.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, PayloadTooLarge, QuotaExceeded
from core.models import Artifact, Dataset, Job
from core.states import JobStatus

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def lock_owner(session: Session, owner: str, quota: str) -> None:
    """Serialize the quota checks of one owner until the transaction ends (PostgreSQL; SQLite already is)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"{quota}:{owner}".encode()).digest()[:8], "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))


def active_jobs(*, session: Session, owner: str) -> int:
    """Jobs of `owner` queued or running."""
    return session.scalar(select(func.count()).select_from(Job).where(Job.owner == owner, Job.status.in_(ACTIVE))) or 0


def check_concurrent_jobs(*, session: Session, owner: str, limit: int) -> None:
    """Refuse when `owner` has more than `limit` jobs queued or running (counting the one being added)."""
    lock_owner(session, owner, "jobs")
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
    """Refuse an upload that takes `owner`'s datasets past `limit` bytes (its row is already added)."""
    lock_owner(session, owner, "dataset_bytes")
    used = uploaded_bytes(session=session, owner=owner) - new_bytes
    if used + new_bytes > limit:
        raise PayloadTooLarge(f"this dataset ({new_bytes} bytes) would take owner {owner!r} past the dataset quota: "
                              f"{used} of {limit} bytes used (CATGAN_QUOTA_DATASET_BYTES); upload fewer images "
                              "or ask an admin for more room", code="quota_exceeded")


def artifact_bytes(*, session: Session, owner: str) -> int:
    """Bytes of the artifacts (shards, sheets, curves...) the jobs of `owner` have stored, as recorded."""
    query = (select(func.coalesce(func.sum(Artifact.size), 0)).select_from(Artifact)
             .join(Job, Job.id == Artifact.job_id).where(Job.owner == owner))
    return int(session.scalar(query) or 0)


def check_artifact_bytes(*, session: Session, owner: str, limit: int) -> None:
    """Refuse a new or resumed job while `owner`'s jobs already store `limit` bytes of artifacts or more."""
    used = artifact_bytes(session=session, owner=owner)
    if used >= limit:
        raise QuotaExceeded(f"the jobs of owner {owner!r} store {used} bytes of artifacts, the most allowed is {limit} "
                            "(CATGAN_QUOTA_ARTIFACT_BYTES); download what you need and ask an admin to remove old "
                            "jobs' artifacts or raise the quota, then submit again")
