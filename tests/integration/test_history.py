"""GET /v1/jobs/{id}/history: every recorded progress of a train job (and its SWD), in step order, thinned to
at most `limit` points with the newest kept, owner-scoped."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.models import Job
from core.services import history, jobs
from tests.support.auth import authorize, make_token
from tests.support.http import expect_error


def _train_job(sessions: sessionmaker[Session], owner: str = "alice") -> int:
    with session_scope(sessions) as session:
        job = Job(type="train", model="dcgan", status="running", owner=owner, params={})
        session.add(job)
        session.flush()
        return job.id


def _report(sessions: sessionmaker[Session], job_id: int, step: int, g_loss: float = 1.0) -> None:
    with session_scope(sessions) as session:
        jobs.record_progress(session=session, job_id=job_id, progress={
            "epoch": 1 + step // 10, "step": step, "total_steps": 100, "g_loss": g_loss, "d_loss": 0.5,
            "images_per_second": 12.5, "eta_seconds": 3.0})


def test_every_progress_report_and_swd_is_kept_in_step_order(client: FlaskClient,
                                                             sessions: sessionmaker[Session]) -> None:
    job_id = _train_job(sessions)
    for step in (10, 20, 30):
        _report(sessions, job_id, step, g_loss=step / 10)
    with session_scope(sessions) as session:
        history.record_quality(session=session, job_id=job_id, step=20, swd=0.0421)
        history.record_quality(session=session, job_id=job_id, step=30, swd=float("nan"))  # not a number: not kept
    body = client.get(f"/v1/jobs/{job_id}/history").get_json()
    assert body["job_id"] == job_id and body["total"] == 4
    points = [(p["step"], p["g_loss"], p["swd"]) for p in body["points"]]
    assert points == [(10, 1.0, None), (20, 2.0, None), (20, None, 0.0421), (30, 3.0, None)]
    first = body["points"][0]
    assert (first["epoch"], first["d_loss"], first["images_per_second"]) == (2, 0.5, 12.5)


def test_a_long_history_is_thinned_to_the_limit_keeping_the_newest(client: FlaskClient,
                                                                   sessions: sessionmaker[Session]) -> None:
    job_id = _train_job(sessions)
    with session_scope(sessions) as session:
        for step in range(1, 251):
            jobs.record_progress(session=session, job_id=job_id, progress={"step": step, "g_loss": 1.0, "d_loss": 1.0})
    body = client.get(f"/v1/jobs/{job_id}/history", query_string={"limit": 50}).get_json()
    steps = [p["step"] for p in body["points"]]
    assert body["total"] == 250 and 40 <= len(steps) <= 50
    assert steps[0] == 1 and steps[-1] == 250 and steps == sorted(steps)
    assert len(client.get(f"/v1/jobs/{job_id}/history").get_json()["points"]) == 250  # under 1000: all of them


def test_generate_progress_is_no_curve(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    job_id = _train_job(sessions)
    with session_scope(sessions) as session:
        jobs.record_progress(session=session, job_id=job_id, progress={"done": 10, "total": 100})
    assert client.get(f"/v1/jobs/{job_id}/history").get_json() == {"job_id": job_id, "total": 0, "points": []}


def test_history_is_the_owners_and_the_limit_is_checked(client: FlaskClient, app, sessions) -> None:  # type: ignore[no-untyped-def]
    job_id = _train_job(sessions, owner="bob")
    _report(sessions, job_id, 5)
    expect_error(client.get(f"/v1/jobs/{job_id}/history"), 404, "not_found")
    bob = authorize(app.test_client(), make_token(sessions, "bob"))
    assert bob.get(f"/v1/jobs/{job_id}/history").get_json()["total"] == 1
    expect_error(bob.get(f"/v1/jobs/{job_id}/history", query_string={"limit": 1001}), 422, "validation_error")
    expect_error(app.test_client().get(f"/v1/jobs/{job_id}/history"), 401, "unauthorized")
