"""Checkpoint rows say what a person needs: the best copy of a step carries that step's epoch and metrics."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.models import Checkpoint, Job
from core.services import artifacts
from core.states import JobType


def _job(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        job = Job(type=JobType.TRAIN, model="dcgan", params={}, owner="alice")
        session.add(job)
        session.flush()
        return job.id


def _rows(sessions: sessionmaker[Session], job_id: int) -> list[tuple]:
    with session_scope(sessions) as session:
        return [(c.path, c.step, c.epoch, c.metrics, c.kept, c.best) for c in session.scalars(
            select(Checkpoint).where(Checkpoint.job_id == job_id).order_by(Checkpoint.path))]


def test_the_best_copy_saved_before_its_steps_checkpoint_takes_that_checkpoints_epoch_and_metrics(
        sessions: sessionmaker[Session]) -> None:
    job_id = _job(sessions)
    # the run measures quality at step 40 and keeps that state as the best before the epoch-2 checkpoint is recorded
    with session_scope(sessions) as session:
        artifacts.mark_checkpoints(session=session, job_id=job_id, kept=[], best="job-1/best/ckpt-40")
    with session_scope(sessions) as session:
        artifacts.add_checkpoint(session=session, job_id=job_id, step=40, epoch=2, path="job-1/ckpt-40",
                                 metrics={"g_loss": 0.7, "d_loss": 1.3})
        artifacts.add_checkpoint(session=session, job_id=job_id, step=60, epoch=3, path="job-1/ckpt-60",
                                 metrics={"g_loss": 0.6, "d_loss": 1.4})
    assert _rows(sessions, job_id) == [
        ("job-1/best/ckpt-40", 40, 2, {"g_loss": 0.7, "d_loss": 1.3}, True, True),
        ("job-1/ckpt-40", 40, 2, {"g_loss": 0.7, "d_loss": 1.3}, True, False),
        ("job-1/ckpt-60", 60, 3, {"g_loss": 0.6, "d_loss": 1.4}, True, False),
    ]
