"""Liveness and readiness."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from sqlalchemy import text

from api.context import context
from core.queue import ping_broker

blp = Blueprint("health", __name__, description="Liveness and readiness")


@blp.route("/healthz")
@blp.doc(responses={200: {"description": "The process answers."}}, security=[])
def healthz() -> ResponseReturnValue:
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(responses={200: {"description": "Database and broker reachable."}, 503: {"description": "Not ready."}},
         security=[])
def readyz() -> ResponseReturnValue:
    """Ready when the database and the broker both answer."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _check_database() -> str:
    try:
        with context().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as text
        return f"error: {exc.__class__.__name__}: {exc}"


def _check_broker() -> str:
    try:
        ping_broker(context().celery)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc.__class__.__name__}: {exc}"
