"""Graceful shutdown: SIGTERM (a deploy, a preemption, Ctrl-C of `catgan up`) stops the running job at its
next step, checkpointed, and hands it back to the queue instead of waiting for a day-long job to end.

Each job runs in a pool child process of its own (prefork, one task per child: a GPU's memory is
returned when the child exits). Celery's shutdown signal fires in the main process, which passes it
on to its children as SIGUSR2; the child running the job sets the flag its pipeline polls.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import psutil
from celery.signals import worker_process_init, worker_shutting_down

log = logging.getLogger(__name__)
SHUTTING_DOWN = threading.Event()
CHILD_SIGNAL = signal.SIGUSR2


@worker_shutting_down.connect
def _on_shutdown(**_: Any) -> None:
    """In the main process: note it, and tell every pool child."""
    SHUTTING_DOWN.set()
    for child in psutil.Process().children():
        try:
            child.send_signal(CHILD_SIGNAL)
        except psutil.NoSuchProcess:
            pass


@worker_process_init.connect
def _in_pool_child(**_: Any) -> None:
    """In a pool child: the main process's SIGUSR2 means "shutting down"."""
    signal.signal(CHILD_SIGNAL, lambda _signum, _frame: SHUTTING_DOWN.set())


def shutting_down() -> bool:
    """Whether this worker has been asked to stop."""
    return SHUTTING_DOWN.is_set()
