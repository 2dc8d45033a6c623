"""A generate worker that lost its lease publishes no shard and no preview: neither the file nor its row."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.errors import LeaseLost
from core.models import Artifact, Job
from core.queue import make_celery
from core.services import artifacts, leases
from core.settings import Settings
from core.states import JobType
from serving.repository import ModelRepository
from worker.bulk import Block, BulkOptions, run_bulk
from worker.context import WorkerContext
from worker.encoding import ImageFormat
from worker.lease import holder_id
from worker.pipelines.generate import record_preview
from worker.reporting import JobReporter

SHARD = 100


def _claimed_job(sessions: sessionmaker[Session]) -> int:
    """A generate job this process holds the lease of, as a worker's claim leaves it."""
    with session_scope(sessions) as session:
        job = Job(type=JobType.GENERATE, model="dcgan", params={"count": 3 * SHARD, "seed": 1}, owner="alice")
        session.add(job)
        session.flush()
        job_id = job.id
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder=holder_id(), lease_seconds=60) is not None
    return job_id


def _steal(sessions: sessionmaker[Session], job_id: int) -> None:
    """Another worker takes the job over (this one was paused past its lease)."""
    with session_scope(sessions) as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_holder="another-worker"))


def _context(settings: Settings, sessions: sessionmaker[Session]) -> WorkerContext:
    assert settings.model_repository is not None
    settings.ensure_directories()
    return WorkerContext(settings=settings, sessions=sessions, repository=ModelRepository(settings.model_repository),
                         celery=make_celery(settings))


def _rows_and_files(ctx: WorkerContext, job_id: int) -> tuple[list[str], list[str]]:
    with session_scope(ctx.sessions) as session:
        rows = sorted(session.scalars(select(Artifact.name).where(Artifact.job_id == job_id)))
    folder = artifacts.job_artifact_dir(ctx.settings, job_id)
    return rows, sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_shard_finished_after_the_lease_was_taken_is_neither_placed_nor_recorded(
        settings: Settings, sessions: sessionmaker[Session]) -> None:
    ctx = _context(settings, sessions)
    job_id = _claimed_job(sessions)

    def source(start: int, stop: int) -> Block:
        if start == SHARD + 50:  # halfway through the second shard, the lease goes to another worker
            _steal(sessions, job_id)
        images = np.full((stop - start, 8, 8, 3), start % 256, np.uint8)
        return Block(images, [f"cat-{i:06d}" for i in range(start, stop)], [{"index": i} for i in range(start, stop)])

    options = BulkOptions(count=3 * SHARD, shard_size=SHARD, block_size=50, fmt=ImageFormat(), dedupe_distance=None,
                          encode_workers=1)
    with pytest.raises(LeaseLost):
        run_bulk(ctx, job_id, source, options, JobReporter(ctx, job_id))

    rows, files = _rows_and_files(ctx, job_id)
    assert rows == ["images-00000.zip"]  # the shard finished while the lease was held, and nothing after it
    assert files == ["images-00000.zip"]  # no second shard, not even its temporary file


def test_a_preview_after_the_lease_was_taken_is_not_written(settings: Settings,
                                                             sessions: sessionmaker[Session]) -> None:
    ctx = _context(settings, sessions)
    job_id = _claimed_job(sessions)
    sheet = np.zeros((16, 16, 3), np.uint8)
    record_preview(ctx, job_id, sheet, {"images": 4})
    assert _rows_and_files(ctx, job_id) == (["grid.png"], ["grid.png"])

    _steal(sessions, job_id)
    before = (artifacts.job_artifact_dir(ctx.settings, job_id) / "grid.png").read_bytes()
    with pytest.raises(LeaseLost):
        record_preview(ctx, job_id, np.full((16, 16, 3), 255, np.uint8), {"images": 4})
    assert (artifacts.job_artifact_dir(ctx.settings, job_id) / "grid.png").read_bytes() == before
