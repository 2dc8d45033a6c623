"""This worker process's hold on its job: a lease renewed by a heartbeat thread.

If the heartbeat finds the lease taken (this worker stalled past its expiry and another took over)
the job stops at its next step and this worker writes nothing more for it. If the worker's parent
process died (a killed worker leaves its pool child behind), the child exits at once rather than
keep a lease alive for a job no one supervises.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from core.db import session_scope
from core.services import leases
from worker.context import WorkerContext

log = logging.getLogger(__name__)

HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this process, unique across restarts


def holder_id() -> str:
    """The lease holder name of this process (a forked child gets its own)."""
    global HOLDER
    if f":{os.getpid()}:" not in HOLDER:
        HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return HOLDER


_current: Heartbeat | None = None


def lease_lost() -> bool:
    """Whether the running job's lease was lost: stop, and write nothing more for it."""
    return _current is not None and _current.lost.is_set()


def mark_lease_lost() -> None:
    """Remember that a write found the lease taken (before the heartbeat did): the job stops at its next step."""
    if _current is not None:
        _current.lose("a write found it held by another worker")


class Heartbeat:
    """Renews a job's lease every `heartbeat_seconds` on its own thread and database session."""

    def __init__(self, ctx: WorkerContext, job_id: int) -> None:
        self.ctx, self.job_id, self.holder = ctx, job_id, holder_id()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._parent = os.getppid()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        global _current
        _current = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        global _current
        self._stop.set()
        self._thread.join()
        _current = None

    def _run(self) -> None:
        while not self._stop.wait(self.ctx.settings.heartbeat_seconds):
            if os.getppid() != self._parent:
                log.error("the worker's main process died; abandoning job %s (its lease will expire)", self.job_id)
                os._exit(70)
            self._beat()

    def _beat(self) -> None:
        try:
            with session_scope(self.ctx.sessions) as session:
                held = leases.renew_lease(session=session, job_id=self.job_id, holder=self.holder,
                                          lease_seconds=self.ctx.settings.lease_seconds)
        except Exception:  # the database may be briefly away: the lease outlasts a few missed beats
            log.warning("job %s: could not renew the lease; retrying", self.job_id, exc_info=True)
            return
        if not held and not self._stop.is_set():
            self.lose("another worker took the job, or it was released")

    def lose(self, why: str) -> None:
        """Mark the lease lost, logging it once whoever noticed first (the heartbeat or a write)."""
        if not self.lost.is_set():
            log.warning("job %s: lease lost (%s); stopping", self.job_id, why)
            self.lost.set()
