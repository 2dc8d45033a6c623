"""API keys for tests: the integration `client` calls the API as TEST_OWNER."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.services import keys

TEST_OWNER = "alice"


def make_token(sessions: sessionmaker[Session], owner: str = TEST_OWNER, *, admin: bool = False) -> str:
    """A new API key's token for `owner`."""
    with session_scope(sessions) as session:
        return keys.create_key(session=session, owner=owner, admin=admin)[1]


def authorize(client: FlaskClient, token: str) -> FlaskClient:
    """`client`, sending `token` as its bearer key on every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def as_admin(client: FlaskClient, sessions: sessionmaker[Session], owner: str = TEST_OWNER) -> FlaskClient:
    """`client`, now sending a new admin key of `owner` (server-side folders need one)."""
    return authorize(client, make_token(sessions, owner, admin=True))
