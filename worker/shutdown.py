"""Graceful shutdown: SIGTERM (a deploy, a preemption, Ctrl-C of `catgan up`) stops the running job at its
next step, checkpointed, and hands it back to the queue instead of waiting for a day-long job to end.
"""

from __future__ import annotations

import threading
from typing import Any

from celery.signals import worker_shutting_down

SHUTTING_DOWN = threading.Event()


@worker_shutting_down.connect
def _on_shutdown(**_: Any) -> None:
    """Celery sends this from its SIGTERM/SIGINT handler; the running pipeline polls the flag."""
    SHUTTING_DOWN.set()


def shutting_down() -> bool:
    """Whether this worker process has been asked to stop."""
    return SHUTTING_DOWN.is_set()
