"""Server-sent events of job changes, read from the Redis Streams core.events writes (/work/notes/events.md).

Reusable beside the /v1 routes (a dashboard route may serve the same generator under its own auth): plan a
stream (`job_stream` / `owner_stream`: checks Redis and fixes where reading starts, before any byte is sent,
so an unreachable Redis is a plain 503), then iterate `sse_messages(plan, ...)`.

- An SSE `id:` is the Redis entry id of the stream read; `Last-Event-ID` resumes right after it.
- A fresh job stream starts with a synthetic `status` event of the job's row whose id is the stream's last
  entry id when that row was read (`0-0` for an empty stream): the row is read after that id, so every later
  change is an entry after it, and a reconnect with the snapshot's id misses nothing. (A change committed
  between the two reads may then arrive once more as its event: a repeat of a state, never a loss.)
- A fresh owner stream starts at its last entry id, sent alone (`id: X` and a blank line, which sets the
  client's last event id without an event), so a client that drops before any event resumes without loss.
- Idle: a `: keep-alive` comment every heartbeat. A job stream ends after the job's terminal `status`; if the
  job has ended and its stream lacks that event (Redis was away when it committed), a `status` snapshot
  is sent in its place. Any stream ends after `events_max_stream_seconds`; the client reconnects.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.errors import InvalidInput, ServiceUnavailable
from core.events import JOB_STREAM, OWNER_STREAM, JobEvent, events_redis
from core.services.job_events import status_snapshot
from core.services.jobs import get_job
from core.settings import Settings
from core.states import is_terminal

log = logging.getLogger(__name__)

ENTRY_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
EMPTY_STREAM_ID = "0-0"
READ_COUNT = 100
RETRY_MS = 2000  # how long an EventSource waits before it reconnects


@dataclass(frozen=True)
class StreamPlan:
    """Where a stream reads (`key`, after `start`), what it sends first, and whether it follows one job."""

    key: str
    start: str
    job_id: int | None = None
    snapshot: JobEvent | None = None


def check_last_event_id(value: str | None) -> str | None:
    """The resume point a client sent (None: none); 422 for anything that is not an id this API sent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not ENTRY_ID.match(value):
        raise InvalidInput("Last-Event-ID must be the id: of an event this stream sent (like 1700000000000-0)",
                           code="invalid_last_event_id", fields={"Last-Event-ID": ["Not an event id."]})
    return value


def job_stream(*, settings: Settings, session: Session, job_id: int, scope: str | None,
               last_event_id: str | None) -> StreamPlan:
    """Plan one job's stream for a caller who sees `scope`'s jobs (None: all); 404 when the job is not theirs."""
    get_job(session=session, job_id=job_id, owner=scope)  # NotFound before touching Redis
    key = JOB_STREAM.format(job_id)
    if last_event_id is not None:
        _ping(settings)
        return StreamPlan(key=key, start=last_event_id, job_id=job_id)
    start = _last_entry_id(settings, key)  # first, then the row: see the module docstring
    session.expire_all()
    job = get_job(session=session, job_id=job_id, owner=scope)
    return StreamPlan(key=key, start=start, job_id=job_id, snapshot=status_snapshot(job))


def owner_stream(*, settings: Settings, owner: str, last_event_id: str | None) -> StreamPlan:
    """Plan the stream of every job of `owner`."""
    key = OWNER_STREAM.format(owner)
    if last_event_id is not None:
        _ping(settings)
        return StreamPlan(key=key, start=last_event_id)
    return StreamPlan(key=key, start=_last_entry_id(settings, key))


def sse_messages(plan: StreamPlan, *, settings: Settings, sessions: sessionmaker[Session]) -> Iterator[str]:
    """The text of the stream: the first message, then entries as they come, keep-alives while idle."""
    yield f"retry: {RETRY_MS}\n"
    position = plan.start
    if plan.snapshot is not None:
        yield message(position, plan.snapshot.type, plan.snapshot.payload())
        if is_terminal(plan.snapshot.status):
            return
    else:
        yield f"id: {position}\n\n"
    deadline = time.monotonic() + settings.events_max_stream_seconds
    block: float | None = None  # the first read returns at once: a job may have ended while the client was away
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            entries = _read(settings, plan.key, position, None if block is None else min(block, remaining))
        except redis.RedisError as exc:
            log.warning("events stream %s ends: Redis failed (%s); the client reconnects or polls", plan.key, exc)
            return
        block = settings.events_heartbeat_seconds
        if not entries:
            ended = _ended_job(plan, sessions)
            if ended is not None:
                yield message(position, ended.type, ended.payload())
                return
            yield ": keep-alive\n\n"
            continue
        for entry_id, fields in entries:
            position = entry_id
            yield message(entry_id, fields.get("type", "message"), json.loads(fields.get("data", "{}")))
            if plan.job_id is not None and fields.get("type") == "status" and _terminal_entry(fields):
                return


def message(entry_id: str, kind: str, data: dict[str, object]) -> str:
    """One SSE message: `id`, `event` and a single-line JSON `data`."""
    return f"id: {entry_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _terminal_entry(fields: dict[str, str]) -> bool:
    return is_terminal(json.loads(fields.get("data", "{}")).get("status", ""))


def _ended_job(plan: StreamPlan, sessions: sessionmaker[Session]) -> JobEvent | None:
    """The status snapshot of a followed job that has ended (its stream may lack the terminal event), else None."""
    if plan.job_id is None:
        return None
    with session_scope(sessions) as session:
        job = get_job(session=session, job_id=plan.job_id)
        return status_snapshot(job) if is_terminal(job.status) else None


def _read(settings: Settings, key: str, after: str, block: float | None) -> list[tuple[str, dict[str, str]]]:
    """Entries of `key` after id `after`, waiting up to `block` seconds for the first (None: not at all)."""
    block_ms = None if block is None else max(1, int(block * 1000))
    answer = events_redis(settings).xread({key: after}, count=READ_COUNT, block=block_ms)
    return list(answer[0][1]) if answer else []  # [[key, [(id, fields), ...]]]


def _last_entry_id(settings: Settings, key: str) -> str:
    """The newest entry id of `key` ("0-0" when it has none); 503 when Redis cannot be reached."""
    try:
        newest = events_redis(settings).xrevrange(key, count=1)
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return newest[0][0] if newest else EMPTY_STREAM_ID


def _ping(settings: Settings) -> None:
    try:
        events_redis(settings).ping()
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"live events are unavailable (the broker's Redis: {exc}); poll GET /v1/jobs/{{id}} "
                              "instead", code="events_unavailable")
