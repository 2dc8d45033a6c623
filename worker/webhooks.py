"""The `webhook.deliver` task: one signed attempt per run, recorded, retried with exponential backoff.

It imports no TensorFlow (nor anything that does): a delivery worker is `catgan worker --queues webhooks`, a
threads pool beside the job workers. Each attempt re-reads the job's URL and the owner's current secret (a
rotation takes effect at once), re-checks the host against the allow-list and vets the addresses it resolves to
now; the body and the `webhook-id` stay those the sink made.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory, session_scope
from core.errors import CatganError
from core.queue import TASK_WEBHOOK_DELIVER
from core.services import webhooks
from core.settings import Settings
from core.webhook_targets import check_target, parse_allow_list, resolve, vetted_addresses
from worker import webhook_http
from worker.app import app, settings

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True)
class Attempt:
    """How one attempt went: the receiver's status, or why there was none; whether another attempt may help."""

    status_code: int | None = None
    error: str | None = None
    retry: bool = False


@lru_cache(maxsize=1)
def _sessions(settings: Settings) -> sessionmaker[Session]:
    """This process's sessions (its engine made on first use)."""
    return make_session_factory(make_engine(settings))


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """The wait after failed attempt number `attempt`: the base, doubled per attempt, at most an hour."""
    return min(settings.webhook_backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def attempt_delivery(settings: Settings, sessions: sessionmaker[Session], job_id: int, event: str, message_id: str,
                     body: str, attempt: int) -> Attempt | None:
    """Make and record one attempt (None: the job or its webhook is gone, nothing to do)."""
    with session_scope(sessions) as session:
        found = webhooks.delivery_target(session=session, job_id=job_id)
    if found is None:
        return None
    url, secret = found
    started = time.monotonic()
    outcome = _send(settings, url, secret, message_id, body)
    with session_scope(sessions) as session:
        webhooks.record_delivery(session=session, job_id=job_id, event=event, message_id=message_id, attempt=attempt,
                                 status_code=outcome.status_code, error=outcome.error,
                                 duration_ms=(time.monotonic() - started) * 1000)
    return outcome


def _send(settings: Settings, url: str, secret: str, message_id: str, body: str) -> Attempt:
    """Vet the target as it is now, then POST the signed body; a refusal sends nothing and is final."""
    allow = parse_allow_list(settings.webhook_allowed_hosts)
    try:
        target = check_target(url, allow)
        addresses = vetted_addresses(target, resolve(target), allow)
    except CatganError as exc:
        return Attempt(error=f"refused: {exc.message}")
    except OSError as exc:  # the name does not resolve (now): a later attempt may succeed
        return Attempt(error=f"resolve {exc!r}", retry=True)
    headers = webhooks.signed_headers(secret, message_id, body)
    try:
        status = webhook_http.post(target, addresses[0], headers, body, settings.webhook_timeout_seconds)
    except OSError as exc:
        return Attempt(error=repr(exc), retry=True)
    return Attempt(status_code=status, retry=not 200 <= status < 300)


@app.task(name=TASK_WEBHOOK_DELIVER, bind=True, acks_late=True, max_retries=None)
def deliver(self: Any, job_id: int, event: str, message_id: str, body: str) -> None:
    """Deliver one webhook message of a job; on failure send it again later, until the attempts run out."""
    attempt = self.request.retries + 1
    outcome = attempt_delivery(settings, _sessions(settings), job_id, event, message_id, body, attempt)
    if outcome is None or not outcome.retry:
        return
    if attempt >= settings.webhook_max_attempts:
        log.warning("webhook %s of job %s given up after %d attempts", message_id, job_id, attempt)
        return
    raise self.retry(countdown=backoff_seconds(settings, attempt))
