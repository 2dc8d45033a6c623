"""What jobs produced, read without loading it all: pages of a job's artifacts and checkpoints, and for a page of
jobs their counts and newest few.

A job of a million images has thousands of shards and a long run thousands of sample sheets, so a job body
carries counts and the newest NEWEST rows; a page of jobs costs a fixed number of queries (for artifacts and for
checkpoints one window pass ranking and counting each job's rows), never one per job nor every row of every job.
The full lists are paged by id, oldest first, with the cursors of GET /v1/jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.models import Artifact, Checkpoint, ModelVersion
from core.services.jobs import decode_cursor, encode_cursor

NEWEST = 5  # rows of each kind a job body carries
Row = TypeVar("Row", Artifact, Checkpoint)


@dataclass(frozen=True)
class JobOutputs:
    """Counts and the newest rows (oldest first) of one job's artifacts and checkpoints, and its newest version."""

    artifact_count: int = 0
    checkpoint_count: int = 0
    artifacts: list[Artifact] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    model_version_id: int | None = None


def job_outputs(*, session: Session, job_ids: Sequence[int], newest: int = NEWEST) -> dict[int, JobOutputs]:
    """The outputs of each of `job_ids`, in three queries however many jobs and rows there are."""
    if not job_ids:
        return {}
    (artifact_counts, artifacts), (checkpoint_counts, checkpoints) = (
        _newest_and_counts(session, model, job_ids, newest) for model in (Artifact, Checkpoint))
    versions = dict(session.execute(select(ModelVersion.job_id, func.max(ModelVersion.id))
                                    .where(ModelVersion.job_id.in_(job_ids)).group_by(ModelVersion.job_id)).all())
    return {job_id: JobOutputs(artifact_count=artifact_counts.get(job_id, 0),
                               checkpoint_count=checkpoint_counts.get(job_id, 0),
                               artifacts=artifacts.get(job_id, []), checkpoints=checkpoints.get(job_id, []),
                               model_version_id=versions.get(job_id))
            for job_id in job_ids}


def _newest_and_counts(session: Session, model: type[Row], job_ids: Sequence[int],
                       newest: int) -> tuple[dict[int, int], dict[int, list[Row]]]:
    """Each job's row count and its newest `newest` rows, oldest first, in one query: the database ranks and
    counts each job's rows in one window pass; only the newest rows are loaded, each carrying its job's count."""
    rank = func.row_number().over(partition_by=model.job_id, order_by=model.id.desc()).label("rank")
    total = func.count().over(partition_by=model.job_id).label("total")
    ranked = select(model.id.label("id"), rank, total).where(model.job_id.in_(job_ids)).subquery()
    query = (select(model, ranked.c.total).join(ranked, model.id == ranked.c.id).where(ranked.c.rank <= newest)
             .order_by(model.id))
    counts: dict[int, int] = {}
    grouped: dict[int, list[Row]] = {}
    for row, count in session.execute(query):
        counts[row.job_id] = count
        grouped.setdefault(row.job_id, []).append(row)
    return counts, grouped


def page_artifacts(*, session: Session, job_id: int, cursor: str | None = None, limit: int = 100,
                   kind: str | None = None) -> tuple[list[Artifact], str | None]:
    """A page of the job's artifacts (of `kind`, if given), oldest first, and the next page's cursor (None at the
    end)."""
    query = select(Artifact).where(Artifact.job_id == job_id)
    if kind:
        query = query.where(Artifact.kind == kind)
    return _page(session, query, Artifact, cursor, limit)


def page_checkpoints(*, session: Session, job_id: int, cursor: str | None = None,
                     limit: int = 100) -> tuple[list[Checkpoint], str | None]:
    """A page of the job's checkpoints, oldest first, and the next page's cursor (None at the end)."""
    return _page(session, select(Checkpoint).where(Checkpoint.job_id == job_id), Checkpoint, cursor, limit)


def _page(session: Session, query: Select[Any], model: type[Row], cursor: str | None,
          limit: int) -> tuple[list[Row], str | None]:
    query = query.order_by(model.id).limit(limit + 1)
    if cursor:
        query = query.where(model.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def artifacts_of_kind(*, session: Session, job_id: int, kinds: Iterable[str]) -> list[Artifact]:
    """Every artifact of the job of one of `kinds` (the result archive's shards and preview), oldest first."""
    query = select(Artifact).where(Artifact.job_id == job_id, Artifact.kind.in_(list(kinds))).order_by(Artifact.id)
    return list(session.scalars(query))
