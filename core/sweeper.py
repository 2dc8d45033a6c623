"""The sweeper: puts back what faults take away, on a timer.

- Jobs whose lease expired on the database's clock (their worker died), or that have none (running when
  migration 0004 ran), go back to the queue; the next worker resumes them.
- Jobs queued in the database but absent from the broker (Redis restarted without its data, or the
  API died between committing a job and sending its task) are sent again. Sending twice is harmless:
  the lease lets exactly one delivery run a job.
- Jobs started `max_job_attempts` times without finishing are failed (they kill their workers).
- Idempotency keys past their time are deleted.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.events import install_event_sinks, make_event_sinks
from core.models import Job, utcnow
from core.queue import QUEUE_GENERATE, QUEUE_TRAIN, enqueue_job
from core.services import leases
from core.services.idempotency import purge_expired_keys
from core.settings import Settings

log = logging.getLogger(__name__)
PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport names a queue's priority lists queue + this + step


@dataclass
class SweepReport:
    requeued_expired: list[int] = field(default_factory=list)
    resent_queued: list[int] = field(default_factory=list)
    failed_exhausted: list[int] = field(default_factory=list)
    purged_keys: int = 0


class Sweeper:
    """One sweep per call; `run` sweeps every `sweep_interval_seconds` until stopped."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], celery: Celery) -> None:
        self.settings, self.sessions, self.celery = settings, sessions, celery
        install_event_sinks(sessions, make_event_sinks(settings, celery))  # requeues and failures reach clients

    def sweep(self) -> SweepReport:
        report = SweepReport()
        self._expired(report)
        self._lost_messages(report)
        report.purged_keys = self._purge_keys()
        if report.requeued_expired or report.resent_queued or report.failed_exhausted:
            log.info("sweep: %s", report)
        return report

    def run(self, stop: threading.Event) -> None:
        """Sweep until `stop` is set; a failed sweep (database or broker away) is logged and retried."""
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed; trying again in %g s", self.settings.sweep_interval_seconds)
            stop.wait(self.settings.sweep_interval_seconds)

    def _expired(self, report: SweepReport) -> None:
        with session_scope(self.sessions) as session:
            expired = leases.expired_jobs(session=session)
        for job_id in expired:
            with session_scope(self.sessions) as session:
                if leases.fail_exhausted(session=session, job_id=job_id, max_attempts=self.settings.max_job_attempts):
                    report.failed_exhausted.append(job_id)
                    continue
                moved = leases.requeue_expired(session=session, job_id=job_id)
                job_type = session.scalar(select(Job.type).where(Job.id == job_id))
            if moved and job_type:
                enqueue_job(self.celery, job_id, job_type)
                report.requeued_expired.append(job_id)

    def _lost_messages(self, report: SweepReport) -> None:
        older_than = utcnow() - timedelta(seconds=self.settings.queued_grace_seconds)
        with session_scope(self.sessions) as session:
            stale = {job_id: session.scalar(select(Job.type).where(Job.id == job_id))
                     for job_id in leases.stale_queued_jobs(session=session, older_than=older_than)}
        if not stale:
            return
        on_broker = queued_job_ids(self.celery)
        for job_id, job_type in stale.items():
            if job_id not in on_broker and job_type:
                enqueue_job(self.celery, job_id, job_type)
                report.resent_queued.append(job_id)

    def _purge_keys(self) -> int:
        with session_scope(self.sessions) as session:
            return int(purge_expired_keys(session=session, now=utcnow()) or 0)


def queued_job_ids(celery: Celery) -> set[int]:
    """Job ids of every task message on the broker: waiting in a queue, or delivered but not yet acked."""
    with celery.connection_for_read() as conn:
        client = conn.default_channel.client
        payloads = []
        for queue in (QUEUE_TRAIN, QUEUE_GENERATE):
            for key in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in (3, 6, 9))):
                payloads.extend(client.lrange(key, 0, -1))
        payloads.extend(json.dumps(json.loads(v)[0]).encode() for v in client.hvals("unacked"))
    return {job_id for job_id in (_job_id(p) for p in payloads) if job_id is not None}


def _job_id(payload: bytes) -> int | None:
    """The job id a kombu message carries as its task's first argument (None if unreadable)."""
    try:
        message: dict[str, Any] = json.loads(payload)
        args = json.loads(base64.b64decode(message["body"]))[0]
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
