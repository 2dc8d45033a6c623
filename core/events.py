"""Job events: recorded in the transaction that changes a job, handed to sinks only after it commits.

A service calls `record_event(session, JobEvent(...))` beside its UPDATE/INSERT; the event waits in
`session.info` and reaches the sinks (the Redis Streams sink that feeds the SSE endpoints, the webhook sink)
after that session's commit — a rollback, or a session closed without commit, drops it. The contract is
/work/notes/events.md: streams `catgan:events:job:<id>` and `catgan:events:owner:<owner>`, each entry holding
`type` and `data` (JSON with the job's `id` and `status` beside what changed).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from core.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

EVENT_TYPES = ("status", "progress", "sheet", "checkpoint", "shard", "artifact")
INFO_KEY = "catgan.events"
JOB_STREAM = "catgan:events:job:{}"
OWNER_STREAM = "catgan:events:owner:{}"


@dataclass(frozen=True)
class JobEvent:
    """One change of a job, as clients see it: `type`, the job's `status` after it, and what changed (`data`)."""

    job_id: int
    owner: str
    type: str  # status | progress | sheet | checkpoint | shard | artifact
    status: str  # the job's status after the change
    data: dict[str, Any] = field(default_factory=dict)  # merged into the SSE data beside id/status

    def payload(self) -> dict[str, Any]:
        """The JSON object of the SSE `data:` line: id and status first, then what changed."""
        return {"id": self.job_id, "status": self.status, **self.data}


EventSink = Callable[[Sequence[JobEvent]], None]


def record_event(session: Session, event: JobEvent) -> None:
    """Queue an event on the session (session.info); it is sent only after that session commits."""
    if not session.in_transaction():
        session.begin()  # the event belongs to a transaction, so a rollback before any SQL drops it too
    session.info.setdefault(INFO_KEY, []).append(event)


def pending_events(session: Session) -> list[JobEvent]:
    """The events queued on `session` and not yet sent (tests and debugging)."""
    return list(session.info.get(INFO_KEY, ()))


_installed: weakref.WeakKeyDictionary[sessionmaker[Session], list[EventSink]] = weakref.WeakKeyDictionary()


def install_event_sinks(factory: sessionmaker[Session], sinks: Sequence[EventSink]) -> None:
    """After each commit of a session from `factory`, hand its queued events to every sink (a sink's error is
    logged, never raised into the committer; a rollback drops the queued events).

    Installing again on the same factory replaces its sinks (never sends an event twice).
    """
    if factory in _installed:
        _installed[factory][:] = list(sinks)
        return
    current = _installed[factory] = list(sinks)

    def after_commit(session: Session) -> None:
        events = session.info.pop(INFO_KEY, None)
        if events:
            deliver(events, current)

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the outermost transaction ended without commit: its events never happened
            session.info.pop(INFO_KEY, None)

    sa_event.listen(factory, "after_commit", after_commit)
    sa_event.listen(factory, "after_transaction_end", after_transaction_end)


def deliver(events: Sequence[JobEvent], sinks: Sequence[EventSink]) -> None:
    """Hand `events` to each sink; a failing sink is logged and the others still run."""
    for sink in sinks:
        try:
            sink(events)
        except Exception:  # the change is committed; a lost notification must not fail the committer
            log.exception("event sink %s failed for %d event(s) of job(s) %s", getattr(sink, "__name__", sink),
                          len(events), sorted({e.job_id for e in events}))


def make_event_sinks(settings: Settings, celery: Celery | None) -> list[EventSink]:
    """The sinks of this deployment: the Redis Streams sink (SSE) and, when configured, the webhook sink."""
    from core.services.webhooks import webhook_sink  # it imports this module's JobEvent type

    webhooks = webhook_sink(settings, celery)
    return [redis_stream_sink(settings)] + ([webhooks] if webhooks is not None else [])


# --- Redis Streams --------------------------------------------------------------------------------------------

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_url(broker_url: str) -> str:
    """The `redis` client's URL of the broker: kombu's `redis+socket:///path` is `unix:///path` there."""
    if broker_url.startswith("redis+socket://"):
        return "unix://" + broker_url.removeprefix("redis+socket://")
    return broker_url


def events_redis(settings: Settings) -> redis.Redis:
    """This process's client of the broker's Redis (made on first use; its pool reconnects after a fork)."""
    url = redis_url(settings.broker_url)
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            # reads block up to a heartbeat; a Redis that hangs longer is treated as down
            client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0,
                                          socket_timeout=settings.events_heartbeat_seconds + 10.0,
                                          health_check_interval=30)
            _clients[url] = client
        return client


def stream_keys(event: JobEvent) -> tuple[str, str]:
    """The job's stream and its owner's stream, where `event` is appended."""
    return JOB_STREAM.format(event.job_id), OWNER_STREAM.format(event.owner)


def redis_stream_sink(settings: Settings) -> EventSink:
    """A sink that XADDs each event to its job's and its owner's stream, capped at `events_maxlen` (approx.)."""

    def redis_streams(events: Sequence[JobEvent]) -> None:
        pipe = events_redis(settings).pipeline(transaction=False)
        for item in events:
            fields = {"type": item.type, "data": json.dumps(item.payload(), default=str)}
            for key in stream_keys(item):
                pipe.xadd(key, fields, maxlen=settings.events_maxlen, approximate=True)
                pipe.expire(key, settings.events_ttl_seconds)
        pipe.execute()

    return redis_streams
