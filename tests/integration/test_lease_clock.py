"""Leases on the database's clock, on real SQLite and PostgreSQL: skewed hosts, and jobs running without a lease."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core import sweeper as sweeper_module
from core.db import session_scope
from core.models import Job
from core.queue import make_celery
from core.services import leases
from core.settings import Settings
from core.sweeper import Sweeper

HOUR = timedelta(hours=1)


def _job(sessions: sessionmaker[Session]) -> int:
    """A queued job row (these tests run no worker: only who may hold it matters)."""
    with session_scope(sessions) as session:
        job = Job(type="generate", model="dcgan", params={"count": 4})
        session.add(job)
        session.flush()
        return job.id


def _skew(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    """Make this process's clock (as the lease and sweeper code reads it) run `offset` off the true time."""
    def skewed() -> datetime:
        return datetime.now(UTC) + offset

    monkeypatch.setattr(leases, "utcnow", skewed)
    monkeypatch.setattr(sweeper_module, "utcnow", skewed)


def _lease(sessions: sessionmaker[Session], job_id: int) -> tuple[str | None, str, int]:
    with session_scope(sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.lease_holder, job.status, job.attempts


def test_hosts_with_skewed_clocks_do_not_take_live_leases(
        settings: Settings, sessions: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _job(sessions)
    _skew(monkeypatch, -HOUR)  # host "slow" is an hour behind: its lease must not be over before it starts
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="slow", lease_seconds=60) is not None
    _skew(monkeypatch, timedelta(0))
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="true", lease_seconds=60) is None
    _skew(monkeypatch, HOUR)  # host "fast" is an hour ahead: the lease is not over for it either
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="fast", lease_seconds=60) is None
        assert leases.expired_jobs(session=session) == []
    report = Sweeper(settings, sessions, make_celery(settings)).sweep()  # a sweeper on the fast host
    assert report.requeued_expired == [] and report.failed_exhausted == []
    _skew(monkeypatch, -HOUR)
    with session_scope(sessions) as session:  # the slow host's heartbeat keeps it alive on the database's clock
        assert leases.renew_lease(session=session, job_id=job_id, holder="slow", lease_seconds=1.5)
    _skew(monkeypatch, timedelta(0))
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="true", lease_seconds=60) is None
    assert _lease(sessions, job_id) == ("slow", "running", 1)
    time.sleep(2)  # and when it stops beating, the lease runs out on that clock too
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="true", lease_seconds=60) is not None
    assert _lease(sessions, job_id) == ("true", "running", 2)


def test_running_jobs_without_a_lease_expiry_are_claimable_and_swept(
        settings: Settings, sessions: sessionmaker[Session]) -> None:
    claimed, swept = _job(sessions), _job(sessions)
    with session_scope(sessions) as session:  # what migration 0004 left of jobs running when it ran
        for job_id in (claimed, swept):
            assert leases.claim_job(session=session, job_id=job_id, holder="before-0004", lease_seconds=60)
        session.execute(update(Job).where(Job.id.in_([claimed, swept])).values(lease_expires_at=None))
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=claimed, holder="new", lease_seconds=60) is not None
    assert _lease(sessions, claimed) == ("new", "running", 2)
    report = Sweeper(settings, sessions, make_celery(settings)).sweep()
    assert report.requeued_expired == [swept]
    assert _lease(sessions, swept) == (None, "queued", 1)
