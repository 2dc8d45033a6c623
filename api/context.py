"""What every view needs (settings, sessions, the Celery sender), kept on the Flask app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import Celery
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.settings import Settings

EXTENSION = "catgan"


@dataclass
class ApiContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    celery: Celery


def context() -> ApiContext:
    """The running app's context."""
    return current_app.extensions[EXTENSION]


@contextmanager
def transaction() -> Iterator[Session]:
    """A session committed when the block ends without error."""
    with session_scope(context().sessions) as session:
        yield session
