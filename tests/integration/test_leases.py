"""Leases and the sweeper on a real database and broker, without workers: who may run, finish or take a job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.errors import LeaseLost
from core.models import Job, utcnow
from core.queue import make_celery
from core.services import jobs, leases
from core.settings import Settings
from core.states import JobStatus
from core.sweeper import Sweeper, queued_job_ids
from tests.support.models import publish_tiny_generator


def _job(client: FlaskClient, settings: Settings) -> int:
    version = publish_tiny_generator(settings, "cats")
    response = client.post("/v1/jobs", json={"type": "generate", "model_version": version, "count": 4})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def _expire(sessions: sessionmaker[Session], job_id: int, **values: object) -> None:
    with session_scope(sessions) as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1), **values))


def test_a_live_lease_keeps_a_job_and_an_expired_one_hands_it_over(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]) -> None:
    job_id = _job(client, settings)
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="a", lease_seconds=60).attempts == 1
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job_id, holder="b", lease_seconds=60) is None  # duplicate
        assert leases.renew_lease(session=session, job_id=job_id, holder="a", lease_seconds=60)
        assert not leases.renew_lease(session=session, job_id=job_id, holder="b", lease_seconds=60)
    _expire(sessions, job_id)
    with session_scope(sessions) as session:
        taken = leases.claim_job(session=session, job_id=job_id, holder="b", lease_seconds=60)
        assert (taken.lease_holder, taken.attempts, taken.status) == ("b", 2, "running")
    with session_scope(sessions) as session, pytest.raises(LeaseLost):
        jobs.finish_job(session=session, job_id=job_id, status=JobStatus.SUCCEEDED, holder="a")  # too late, "a"
    with session_scope(sessions) as session:
        assert not leases.renew_lease(session=session, job_id=job_id, holder="a", lease_seconds=60)
        jobs.finish_job(session=session, job_id=job_id, status=JobStatus.SUCCEEDED, holder="b")
    finished = client.get(f"/v1/jobs/{job_id}").get_json()
    assert finished["status"] == "succeeded"


def test_the_sweeper_requeues_expired_jobs_resends_lost_ones_and_fails_exhausted_ones(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]) -> None:
    celery = make_celery(settings)
    dead, lost, alive, doomed = (_job(client, settings) for _ in range(4))
    with session_scope(sessions) as session:
        for job_id in (dead, alive, doomed):
            leases.claim_job(session=session, job_id=job_id, holder="w", lease_seconds=60)
    _expire(sessions, dead)
    _expire(sessions, doomed, attempts=settings.max_job_attempts)
    with session_scope(sessions) as session:  # `lost`: queued long ago, and its message gone
        session.execute(update(Job).where(Job.id == lost).values(created_at=utcnow() - timedelta(hours=1)))
    with celery.connection_for_write() as conn:
        conn.default_channel.client.delete("generate")

    report = Sweeper(settings, sessions, celery).sweep()
    assert (report.requeued_expired, report.resent_queued, report.failed_exhausted) == ([dead], [lost], [doomed])
    states = {j: client.get(f"/v1/jobs/{j}").get_json() for j in (dead, lost, alive, doomed)}
    assert [states[j]["status"] for j in (dead, lost, alive, doomed)] == ["queued", "queued", "running", "failed"]
    assert "started 5 times and never finished" in states[doomed]["error"]
    assert {dead, lost} <= queued_job_ids(celery)
    again = Sweeper(settings, sessions, celery).sweep()  # nothing left to do: messages are there now
    assert (again.requeued_expired, again.resent_queued, again.failed_exhausted) == ([], [], [])
