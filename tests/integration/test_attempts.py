"""Attempts count failed starts only: clean hand-offs are free, and resume gives a job a fresh budget."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.models import Job, utcnow
from core.services import jobs, leases
from core.settings import Settings
from core.states import JobStatus
from tests.support.backends import worker_process
from tests.support.jobs import submit, wait_for
from tests.support.models import publish_tiny_generator


def _generate_job(client: FlaskClient, settings: Settings) -> int:
    version = publish_tiny_generator(settings, "cats")
    return submit(client, {"type": "generate", "model_version": version, "count": 4})["id"]


def _claim(sessions: sessionmaker[Session], settings: Settings, job_id: int, holder: str) -> Job | None:
    """Claim as a worker does (failing the job instead when its attempts are used up)."""
    with session_scope(sessions) as session:
        return leases.claim_job(session=session, job_id=job_id, holder=holder, lease_seconds=60,
                                max_attempts=settings.max_job_attempts)


def test_clean_hand_offs_do_not_use_up_a_job_s_attempts(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]) -> None:
    job_id = _generate_job(client, settings)
    for deploy in range(settings.max_job_attempts + 1):  # a long run living through six deploys (SIGTERM each time)
        claimed = _claim(sessions, settings, job_id, f"deploy-{deploy}")
        assert claimed is not None and claimed.attempts == 1, f"deploy {deploy}: {claimed and claimed.error}"
        with session_scope(sessions) as session:
            jobs.requeue_job(session=session, job_id=job_id, holder=f"deploy-{deploy}")
    for stop in range(settings.max_job_attempts + 1):  # and six stops by its owner: cancel, then resume
        assert _claim(sessions, settings, job_id, f"run-{stop}") is not None
        assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
        with session_scope(sessions) as session:
            jobs.finish_job(session=session, job_id=job_id, status=JobStatus.CANCELLED, holder=f"run-{stop}")
        assert client.post(f"/v1/jobs/{job_id}/resume").status_code == 202
    last = _claim(sessions, settings, job_id, "last")
    assert last is not None and (last.status, last.attempts, last.error) == ("running", 1, None)


@pytest.mark.slow
def test_a_job_failed_for_using_up_its_attempts_runs_again_after_resume(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], env: dict[str, str],
        tmp_path: Path) -> None:
    job_id = _generate_job(client, settings)
    for kill in range(settings.max_job_attempts):  # each worker died with the job (an OOM kill, say)
        assert _claim(sessions, settings, job_id, f"killed-{kill}") is not None
        with session_scope(sessions) as session:
            session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(1)))
    assert _claim(sessions, settings, job_id, "one-too-many") is None
    failed = client.get(f"/v1/jobs/{job_id}").get_json()
    assert failed["status"] == "failed" and "fix the cause, then resume it" in failed["error"]

    resumed = client.post(f"/v1/jobs/{job_id}/resume")  # the advice, followed
    assert resumed.status_code == 202, resumed.get_json()
    with worker_process(env, tmp_path / "worker.log"):
        done = wait_for(client, job_id)
    assert (done["status"], done["error"]) == ("succeeded", None)
    with session_scope(sessions) as session:
        assert session.get(Job, job_id).attempts == 1
