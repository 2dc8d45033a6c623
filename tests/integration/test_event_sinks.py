"""core.events on real Redis and a real database: events leave only with their transaction's commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory, session_scope
from core.events import (
    JobEvent,
    events_redis,
    install_event_sinks,
    make_event_sinks,
    record_event,
    redis_stream_sink,
)
from core.settings import Settings


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield make_session_factory(engine)
    engine.dispose()


def event(job_id: int, type: str = "status", status: str = "running", **data: object) -> JobEvent:
    return JobEvent(job_id=job_id, owner="carol", type=type, status=status, data=data)


def entries(settings: Settings, key: str) -> list[tuple[str, dict[str, str]]]:
    return events_redis(settings).xrange(key)


def test_a_commit_sends_its_events_to_both_streams_in_order(settings: Settings,
                                                            factory: sessionmaker[Session]) -> None:
    install_event_sinks(factory, make_event_sinks(settings, None))
    with session_scope(factory) as session:
        session.execute(text("SELECT 1"))
        record_event(session, event(7, previous="queued", error=None))
        record_event(session, event(7, "progress", progress={"step": 3}))
        assert entries(settings, "catgan:events:job:7") == []  # nothing leaves before the commit
    job = entries(settings, "catgan:events:job:7")
    assert [(f["type"], json.loads(f["data"])) for _, f in job] == [
        ("status", {"id": 7, "status": "running", "previous": "queued", "error": None}),
        ("progress", {"id": 7, "status": "running", "progress": {"step": 3}})]
    owner = entries(settings, "catgan:events:owner:carol")
    assert [f for _, f in owner] == [f for _, f in job]
    assert 0 < events_redis(settings).ttl("catgan:events:job:7") <= settings.events_ttl_seconds


def test_a_rollback_or_a_close_without_commit_drops_the_events(settings: Settings,
                                                                factory: sessionmaker[Session]) -> None:
    install_event_sinks(factory, make_event_sinks(settings, None))
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        record_event(session, event(8))
        raise RuntimeError("the change failed")
    with factory() as session:
        record_event(session, event(8))  # closed without commit
    with session_scope(factory) as session:
        record_event(session, event(8, status="succeeded"))
        session.rollback()  # rolled back, then the same session commits other work: the event stays dropped
    with session_scope(factory) as session:
        record_event(session, event(8, status="failed"))
    assert [json.loads(f["data"])["status"] for _, f in entries(settings, "catgan:events:job:8")] == ["failed"]


def test_a_failing_sink_is_logged_and_neither_fails_the_commit_nor_the_other_sinks(
        settings: Settings, factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    received: list[JobEvent] = []

    def broken(_events: Sequence[JobEvent]) -> None:
        raise ConnectionError("receiver away")

    install_event_sinks(factory, [broken, received.extend])
    with caplog.at_level(logging.ERROR, logger="core.events"), session_scope(factory) as session:
        record_event(session, event(9))
    assert received == [event(9)]
    assert "event sink broken failed for 1 event(s) of job(s) [9]" in caplog.text


def test_installing_again_replaces_the_sinks_and_never_sends_twice(settings: Settings,
                                                                   factory: sessionmaker[Session]) -> None:
    first: list[JobEvent] = []
    second: list[JobEvent] = []
    install_event_sinks(factory, [first.extend])
    install_event_sinks(factory, [second.extend])
    with session_scope(factory) as session:
        record_event(session, event(10))
    assert (first, second) == ([], [event(10)])


def test_the_streams_are_capped_near_events_maxlen(settings: Settings) -> None:
    sink = redis_stream_sink(settings.model_copy(update={"events_maxlen": 50}))
    for step in range(2000):
        sink([event(11, "progress", progress={"step": step})])
    length = events_redis(settings).xlen("catgan:events:job:11")
    assert 50 <= length < 300  # approximate trimming (MAXLEN ~) keeps whole radix-tree nodes
    newest = entries(settings, "catgan:events:job:11")[-1][1]
    assert json.loads(newest["data"])["progress"] == {"step": 1999}


def test_redis_away_loses_the_notification_but_not_the_commit(settings: Settings, factory: sessionmaker[Session],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    away = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    install_event_sinks(factory, make_event_sinks(away, None))
    with caplog.at_level(logging.ERROR, logger="core.events"), session_scope(factory) as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS event_probe (x INTEGER)"))
        session.execute(text("INSERT INTO event_probe VALUES (1)"))
        record_event(session, event(12))
    with factory() as session:
        assert session.execute(text("SELECT count(*) FROM event_probe")).scalar() == 1
    assert "event sink redis_streams failed" in caplog.text
