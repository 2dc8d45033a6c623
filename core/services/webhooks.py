"""Webhooks: a job's webhook checked at submit, owners' signing secrets, the event sink that queues deliveries, and
the record of every delivery attempt.

Messages follow Standard Webhooks: a body `{"type", "timestamp", "data"}` (data as the SSE event's), headers
`webhook-id` (one per message, kept across retries), `webhook-timestamp` (unix seconds of the attempt) and
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the owner's `whsec_` secret).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from core.models import Job, WebhookDelivery, WebhookSecret, utcnow
from core.queue import enqueue_webhook
from core.services.jobs import decode_cursor, encode_cursor
from core.settings import Settings
from core.webhook_targets import check_target, parse_allow_list

if TYPE_CHECKING:
    from celery import Celery

    from core.events import JobEvent

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
DEFAULT_EVENTS = ("status",)
PROGRESS_KEY = "catgan:webhooks:progress:{}"  # set while a job's progress deliveries are throttled
CACHE_SIZE = 10_000  # jobs whose webhook a sink remembers (a job's webhook never changes)


def check_webhook(webhook: dict[str, Any] | None, settings: Settings) -> dict[str, Any] | None:
    """The webhook a job stores — its URL on the allow-list, its events (default status) without repeats."""
    if webhook is None:
        return None
    check_target(webhook["url"], parse_allow_list(settings.webhook_allowed_hosts))
    return {"url": webhook["url"], "events": list(dict.fromkeys(webhook.get("events") or DEFAULT_EVENTS))}


# --- secrets ----------------------------------------------------------------------------------------------------

def new_secret() -> str:
    """A fresh 32-byte secret in the `whsec_<base64>` form receivers' libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def get_secret(*, session: Session, owner: str) -> str:
    """`owner`'s signing secret, made on first use (two first reads at once agree on one)."""
    row = session.get(WebhookSecret, owner)
    if row is not None:
        return row.secret
    try:
        with session.begin_nested():
            session.add(WebhookSecret(owner=owner, secret=new_secret()))
    except IntegrityError:  # another request made it first: use theirs
        pass
    row = session.get(WebhookSecret, owner, populate_existing=True)
    assert row is not None
    return row.secret


def rotate_secret(*, session: Session, owner: str) -> str:
    """Replace `owner`'s secret: every delivery signed from now on uses the new one only."""
    get_secret(session=session, owner=owner)
    row = session.get(WebhookSecret, owner, with_for_update=True)
    assert row is not None
    row.secret, row.rotated_at = new_secret(), utcnow()
    session.flush()
    return row.secret


def signed_headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: the id, this attempt's timestamp and its signature."""
    timestamp = int((now or datetime.now(UTC)).timestamp())
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def new_message(event: JobEvent) -> tuple[str, str]:
    """A message id and the JSON body of `event` (made once: every attempt sends these same bytes)."""
    body = {"type": event.type, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": event.payload()}
    return f"msg_{uuid.uuid4().hex}", json.dumps(body, default=str, separators=(",", ":"))


# --- the sink ---------------------------------------------------------------------------------------------------

class WebhookSink:
    """Queues a delivery for each event a job's webhook asked for; progress at most once per interval per job."""

    __name__ = "webhook_sink"

    def __init__(self, settings: Settings, celery: Celery, sessions: sessionmaker[Session] | None = None) -> None:
        self._settings, self._celery, self._sessions = settings, celery, sessions
        self._webhooks: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, events: Sequence[JobEvent]) -> None:
        webhooks = self._lookup(sorted({e.job_id for e in events}))
        for event in events:
            webhook = webhooks.get(event.job_id)
            if webhook is None or event.type not in webhook["events"]:
                continue
            if event.type == "progress" and not self._progress_due(event.job_id):
                continue
            message_id, body = new_message(event)
            enqueue_webhook(self._celery, event.job_id, event.type, message_id, body)

    def _lookup(self, job_ids: list[int]) -> dict[int, dict[str, Any] | None]:
        """The webhooks of `job_ids`: remembered ones, the others read in one query."""
        with self._lock:
            known = {i: self._webhooks[i] for i in job_ids if i in self._webhooks}
        missing = [i for i in job_ids if i not in known]
        if missing:
            with self._session_factory()() as session:
                found = dict(session.execute(select(Job.id, Job.webhook).where(Job.id.in_(missing))).all())
            with self._lock:
                for job_id in missing:
                    known[job_id] = self._webhooks[job_id] = found.get(job_id)
                while len(self._webhooks) > CACHE_SIZE:
                    self._webhooks.popitem(last=False)
        return known

    def _session_factory(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from sqlalchemy.pool import NullPool

            from core.db import make_engine, make_session_factory

            # a connection only while a job's webhook is first read (then remembered): none kept open idle
            self._sessions = make_session_factory(make_engine(self._settings, poolclass=NullPool))
        return self._sessions

    def _progress_due(self, job_id: int) -> bool:
        """True for the first progress event of a throttle window (shared by every process, on the broker)."""
        interval_ms = int(self._settings.webhook_progress_interval_seconds * 1000)
        if interval_ms <= 0:
            return True
        from core.events import events_redis

        return bool(events_redis(self._settings).set(PROGRESS_KEY.format(job_id), "1", nx=True, px=interval_ms))


def webhook_sink(settings: Settings, celery: Celery | None) -> WebhookSink | None:
    """The webhook sink of a deployment that allows webhooks (None when none may be sent, or there is no queue)."""
    if not settings.webhook_allowed_hosts.strip() or celery is None:
        return None
    return WebhookSink(settings, celery)


# --- deliveries -------------------------------------------------------------------------------------------------

def delivery_target(*, session: Session, job_id: int) -> tuple[str, str] | None:
    """The URL and the owner's secret of a job's webhook (None when the job or its webhook is gone)."""
    job = session.get(Job, job_id)
    if job is None or not job.webhook:
        return None
    return job.webhook["url"], get_secret(session=session, owner=job.owner)


def record_delivery(*, session: Session, job_id: int, event: str, message_id: str, attempt: int,
                    status_code: int | None, error: str | None, duration_ms: float) -> WebhookDelivery:
    """Keep one attempt: what was tried and how it went."""
    row = WebhookDelivery(job_id=job_id, event=event, message_id=message_id, attempt=attempt, status_code=status_code,
                          error=error[:2000] if error else None, duration_ms=round(duration_ms, 3))
    session.add(row)
    session.flush()
    return row


def page_deliveries(*, session: Session, job_id: int, cursor: str | None = None,
                    limit: int = 100) -> tuple[list[WebhookDelivery], str | None]:
    """A page of the job's delivery attempts, oldest first, and the next page's cursor (None at the end)."""
    query = select(WebhookDelivery).where(WebhookDelivery.job_id == job_id).order_by(WebhookDelivery.id)
    if cursor:
        query = query.where(WebhookDelivery.id > decode_cursor(cursor))
    rows = list(session.scalars(query.limit(limit + 1)))
    return rows[:limit], encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
