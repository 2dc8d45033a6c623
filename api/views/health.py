"""Liveness and readiness.

Both are open (probes carry no key), so /readyz says only which part is down; why (host names, the
database user, the driver's text) goes to the log.
"""

from __future__ import annotations

import logging

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from sqlalchemy import text

from api.context import context
from core.queue import ping_broker

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness")


@blp.route("/healthz")
@blp.doc(responses={200: {"description": "The process answers."}}, security=[])
def healthz() -> ResponseReturnValue:
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(responses={200: {"description": "Database and broker reachable."},
                    503: {"description": "Not ready: `checks` says which part is down (ok/down), the log why."}},
         security=[])
def readyz() -> ResponseReturnValue:
    """Ready when the database and the broker both answer."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _check_database() -> str:
    """Return "ok" when the database answers SELECT 1, else "down" (the reason goes to the log)."""
    try:
        with context().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready; the details go to the log only
        log.warning("readiness: the database is down", exc_info=True)
        return "down"
    return "ok"


def _check_broker() -> str:
    """Return "ok" when the broker accepts a connection, else "down" (the reason goes to the log)."""
    try:
        ping_broker(context().celery)
    except Exception:  # noqa: BLE001 - as above
        log.warning("readiness: the broker is down", exc_info=True)
        return "down"
    return "ok"
