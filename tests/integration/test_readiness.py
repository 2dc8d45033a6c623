"""/readyz names the part that is down and nothing more; the reason (hosts, users, passwords) is logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from api.app import create_app
from core.settings import Settings

HEALTH_LOGGER = "api.views.health"


@contextmanager
def app_with(settings: Settings, **broken: str) -> Iterator[Flask]:
    """A real app on `settings` with some URLs replaced by ones nothing answers."""
    app = create_app(settings.model_copy(update=broken))
    try:
        yield app
    finally:
        app.extensions["catgan"].engine.dispose()


def _readiness(app: Flask) -> tuple[int, dict[str, object], str]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json(), response.get_data(as_text=True)


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> str:
    """The formatted record (with its traceback) the health check logged with `message`."""
    records = [r for r in caplog.records if r.name == HEALTH_LOGGER and r.getMessage() == message]
    assert len(records) == 1 and records[0].levelno == logging.WARNING and records[0].exc_info
    return caplog.text


def test_a_down_database_is_named_and_its_reason_only_logged(settings: Settings,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with app_with(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/x") as app:
        status, body, text = _readiness(app)
    assert status == 503
    assert body == {"status": "not ready", "checks": {"database": "down", "broker": "ok"}}
    for secret in ("127.0.0.1", "nobody", "port 1", "Error", "psycopg"):
        assert secret not in text
    assert "127.0.0.1" in _logged(caplog, "readiness: the database is down")


def test_a_down_broker_is_named_and_its_reason_only_logged(settings: Settings,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with app_with(settings, redis_url="redis://:hunter2@127.0.0.1:1/0") as app:
        status, body, text = _readiness(app)
    assert status == 503
    assert body == {"status": "not ready", "checks": {"database": "ok", "broker": "down"}}
    for secret in ("hunter2", "127.0.0.1", "Error", "refused"):
        assert secret not in text
    assert "127.0.0.1:1" in _logged(caplog, "readiness: the broker is down")


@pytest.mark.services
@pytest.mark.parametrize("backend", ["server"], indirect=True)
def test_a_refused_database_user_is_not_echoed(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL's own message names the role it refused; the body must not."""
    url = settings.database_url.replace("postgres@", "catgan_no_such_role@")
    assert "catgan_no_such_role@" in url
    with app_with(settings, database_url=url) as app:
        status, body, text = _readiness(app)
    assert status == 503 and body["checks"] == {"database": "down", "broker": "ok"}
    assert "catgan_no_such_role" not in text
    assert "catgan_no_such_role" in _logged(caplog, "readiness: the database is down")
