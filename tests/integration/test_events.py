"""Live events over the API: GET /v1/jobs/{id}/events and GET /v1/events on real Redis and a real database.

A job is changed the way a worker changes it (its services, one transaction each); the stream must carry
every change in order, resume after Last-Event-ID, stay owner-scoped, keep idle connections alive, and
refuse cleanly (503) when Redis is away or the process serves its most streams.
"""

from __future__ import annotations

import math

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import make_engine, make_session_factory, session_scope
from core.events import events_redis, install_event_sinks, make_event_sinks
from core.services import jobs, leases
from core.settings import Settings
from tests.support.auth import as_admin, authorize, make_token
from tests.support.events import SSEStream, open_stream, queued_train_job, run_like_a_worker
from tests.support.http import expect_error

EVERY_CHANGE = [("status", "queued"), ("status", "running"), ("progress", "running"), ("sheet", "running"),
                ("checkpoint", "running"), ("status", "succeeded")]


@pytest.fixture
def worker_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions as a worker has them: each commit hands its events to this deployment's sinks."""
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    install_event_sinks(factory, make_event_sinks(settings, None))
    yield factory
    engine.dispose()


def app_with(settings: Settings, **changes: object) -> Flask:
    return create_app(settings.model_copy(update=changes))


def kinds(events: list) -> list[tuple[str, str]]:
    return [(e.event, e.payload["status"]) for e in events]


def test_a_job_stream_carries_every_change_in_order_and_ends(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    job_id = queued_train_job(client)
    run_like_a_worker(worker_sessions, settings, job_id)
    events = open_stream(client, f"/v1/jobs/{job_id}/events", last_event_id="0-0").rest()  # all of it, then closed
    assert kinds(events) == EVERY_CHANGE
    assert all(e.payload["id"] == job_id for e in events)
    assert events[0].payload == {"id": job_id, "status": "queued", "previous": None, "error": None}
    assert events[1].payload == {"id": job_id, "status": "running", "previous": "queued", "error": None}
    assert events[2].payload["progress"] == {"step": 2, "total_steps": 4, "epoch": 1, "g_loss": 1.5, "d_loss": 0.5}
    sheet = events[3].payload["artifact"]
    assert (sheet["name"], sheet["step"]) == ("samples-step0000002.png", 2)
    assert events[4].payload["checkpoint"]["step"] == 2 and events[4].payload["checkpoint"]["epoch"] == 1
    assert events[5].payload["previous"] == "running"
    ids = [tuple(map(int, e.id.split("-"))) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_fresh_stream_starts_with_the_row_then_follows_live(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    job_id = queued_train_job(client)
    stream = open_stream(client, f"/v1/jobs/{job_id}/events")
    [snapshot] = stream.events(1)
    newest = events_redis(settings).xrevrange(f"catgan:events:job:{job_id}", count=1)[0][0]
    assert (snapshot.event, snapshot.id, snapshot.payload) == (
        "status", newest, {"id": job_id, "status": "queued", "previous": None, "error": None})
    run_like_a_worker(worker_sessions, settings, job_id)  # while the stream is open
    assert kinds(stream.rest()) == EVERY_CHANGE[1:]  # the queued event is the snapshot's, never repeated
    assert stream.ended


def test_a_dropped_stream_resumes_after_last_event_id_without_loss_or_repeats(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    job_id = queued_train_job(client)
    run_like_a_worker(worker_sessions, settings, job_id, finish=False)
    first = open_stream(client, f"/v1/jobs/{job_id}/events", last_event_id="0-0")
    seen = first.events(3)
    first.close()  # the connection drops after three events
    with session_scope(worker_sessions) as session:
        jobs.finish_job(session=session, job_id=job_id, status=jobs.JobStatus.FAILED, error="boom",
                        holder="test-worker")
    rest = open_stream(client, f"/v1/jobs/{job_id}/events", last_event_id=seen[-1].id).rest()
    assert kinds(seen + rest) == EVERY_CHANGE[:-1] + [("status", "failed")]
    assert rest[-1].payload == {"id": job_id, "status": "failed", "previous": "running", "error": "boom"}
    # the query parameter (an EventSource cannot set headers on its first connection) resumes the same way
    again = SSEStream(client.get(f"/v1/jobs/{job_id}/events?last_event_id={seen[-1].id}", buffered=False)).rest()
    assert [e.id for e in again] == [e.id for e in rest]


def test_a_finished_job_stream_is_its_terminal_status_alone(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    job_id = queued_train_job(client)
    run_like_a_worker(worker_sessions, settings, job_id)
    stream = open_stream(client, f"/v1/jobs/{job_id}/events")
    assert kinds(stream.rest()) == [("status", "succeeded")] and stream.ended


def test_another_owners_job_is_404_and_their_events_are_not_in_mine(
        app: Flask, client: FlaskClient, sessions: sessionmaker[Session],
        worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    bob = authorize(app.test_client(), make_token(sessions, "bob"))
    bobs_job = queued_train_job(bob)
    expect_error(client.get(f"/v1/jobs/{bobs_job}/events"), 404, "not_found")
    mine = queued_train_job(client)
    run_like_a_worker(worker_sessions, settings, bobs_job)
    run_like_a_worker(worker_sessions, settings, mine)
    stream = open_stream(client, "/v1/events", last_event_id="0-0")
    events = stream.events(len(EVERY_CHANGE))
    stream.close()
    assert kinds(events) == EVERY_CHANGE and {e.payload["id"] for e in events} == {mine}
    expect_error(client.get("/v1/events?owner=bob"), 403, "admin_required")
    admin = as_admin(app.test_client(), sessions, "root")
    stream = open_stream(admin, "/v1/events?owner=bob", last_event_id="0-0")
    assert {e.payload["id"] for e in stream.events(len(EVERY_CHANGE))} == {bobs_job}
    stream.close()


def test_an_idle_stream_sends_keep_alives_and_ends_at_its_lifetime(settings: Settings,
                                                                   sessions: sessionmaker[Session]) -> None:
    app = app_with(settings, events_heartbeat_seconds=0.2, events_max_stream_seconds=1.5)
    client = authorize(app.test_client(), make_token(sessions))
    stream = open_stream(client, "/v1/events")
    assert stream.rest() == [] and stream.ended  # closed by the server after its lifetime
    # one at once (the first read does not wait), then one per heartbeat until the lifetime; the last may be short
    assert 3 <= stream.comments.count(": keep-alive") <= 1 + math.ceil(1.5 / 0.2)
    assert stream.parser.last_event_id == "0-0"  # the start was sent as a bare id: a reconnect resumes there
    app.extensions["catgan"].engine.dispose()


def test_an_owner_stream_without_last_event_id_starts_now(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    before = queued_train_job(client)
    newest = events_redis(settings).xrevrange("catgan:events:owner:alice", count=1)[0][0]
    stream = open_stream(client, "/v1/events")
    stream.next_chunk(), stream.next_chunk()  # retry:, then the start as a bare id
    assert stream.parser.last_event_id == newest  # the owner stream's newest entry when it opened
    run_like_a_worker(worker_sessions, settings, before)
    events = stream.events(len(EVERY_CHANGE) - 1)
    stream.close()
    assert kinds(events) == EVERY_CHANGE[1:]  # its queued event came before the stream opened


def test_redis_away_is_503_events_unavailable(settings: Settings, sessions: sessionmaker[Session],
                                              client: FlaskClient) -> None:
    job_id = queued_train_job(client)
    app = app_with(settings, redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    away = authorize(app.test_client(), make_token(sessions))
    expect_error(away.get(f"/v1/jobs/{job_id}/events"), 503, "events_unavailable")
    expect_error(away.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "1-0"}), 503, "events_unavailable")
    expect_error(away.get("/v1/events"), 503, "events_unavailable")
    app.extensions["catgan"].engine.dispose()


def test_past_the_stream_limit_is_503_with_retry_after(settings: Settings, sessions: sessionmaker[Session]) -> None:
    app = app_with(settings, events_max_streams=1)
    client = authorize(app.test_client(), make_token(sessions))
    held = open_stream(client, "/v1/events")
    held.next_chunk()
    refused = client.get("/v1/events")
    expect_error(refused, 503, "too_many_streams")
    assert refused.headers["Retry-After"] == "5"
    assert client.get("/v1/jobs").status_code == 200  # the rest of the API is still served
    held.close()  # its slot is free again
    open_stream(client, "/v1/events").close()
    app.extensions["catgan"].engine.dispose()


def test_a_bad_last_event_id_is_422(client: FlaskClient) -> None:
    job_id = queued_train_job(client)
    error = expect_error(client.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "yesterday"}), 422,
                         "invalid_last_event_id")
    assert "Last-Event-ID" in error["message"]


def test_the_stream_is_documented_as_text_event_stream(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path in ("/v1/jobs/{job_id}/events", "/v1/events"):
        ok = spec["paths"][path]["get"]["responses"]["200"]
        assert "text/event-stream" in ok["content"], path
        assert {"401", "503"} <= set(spec["paths"][path]["get"]["responses"])


def test_shards_and_other_files_are_their_own_event_types(
        client: FlaskClient, worker_sessions: sessionmaker[Session], settings: Settings) -> None:
    from core.services import artifacts
    from tests.support.events import HOLDER

    job_id = queued_train_job(client)
    files = [(artifacts.SHARD_KIND, "images-00003.zip", {"shard": 3, "images": 7}),
             ("loss_curve", "loss-curve.png", {})]
    with session_scope(worker_sessions) as session:
        leases.claim_job(session=session, job_id=job_id, holder=HOLDER, lease_seconds=60)
    for kind, name, info in files:
        with session_scope(worker_sessions) as session:
            artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job_id, kind=kind, name=name,
                                         data=b"PK\x05\x06" + bytes(18), content_type="application/zip", info=info)
    stream = open_stream(client, f"/v1/jobs/{job_id}/events", last_event_id="0-0")
    events = stream.events(4)
    stream.close()
    assert [e.event for e in events] == ["status", "status", "shard", "artifact"]
    assert {k: events[2].payload["artifact"][k] for k in ("name", "kind", "images")} == {
        "name": "images-00003.zip", "kind": "images_shard", "images": 7}
    assert events[3].payload["artifact"]["name"] == "loss-curve.png" and events[3].payload["status"] == "running"
