"""Database writes a running job must not lose to a dropped connection: retried with backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 6
FIRST_DELAY = 0.2  # then doubling: about 12 s in all, within a lease


def retrying(action: Callable[[], T], what: str) -> T:
    """Run `action` (one whole transaction), again after a connection-level failure."""
    delay = FIRST_DELAY
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return action()
        except (OperationalError, DBAPIError) as exc:
            if attempt == ATTEMPTS or not _transient(exc):
                raise
            log.warning("%s: database unavailable (%s); retrying in %.1f s", what, exc.__class__.__name__, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _transient(exc: DBAPIError) -> bool:
    """A lost or refused connection (or SQLite busy), not a constraint or a syntax error."""
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)
