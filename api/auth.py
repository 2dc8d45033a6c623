"""Who is calling: a bearer API key on every /v1 request, kept on `flask.g` as `owner` (str) and `admin` (bool).

Views scope what they read to `g.owner` (admins to nothing) and create things as `g.owner`; the
idempotency helper keys replays by `g.owner` too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, g, request

from api.context import transaction
from core.errors import Unauthorized
from core.models import LOCAL_OWNER
from core.services import keys
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """The live API key a request came with."""

    key_id: int
    key_hash: str
    owner: str
    admin: bool


def is_api_path(path: str) -> bool:
    """Whether `path` is an API route (health, readiness and the OpenAPI document are open to all)."""
    return path == "/v1" or path.startswith("/v1/")


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def authenticated() -> Caller | None:
    """The caller's live key, looked up once per request (the rate limiter asks before the auth hook runs)."""
    if "catgan_caller" not in g:
        g.catgan_caller = _lookup(bearer_token())
    return g.catgan_caller


def _lookup(token: str | None) -> Caller | None:
    if not token:
        return None
    with transaction() as session:
        key = keys.authenticate(session=session, token=token)
        return Caller(key.id, key.key_hash, key.owner, key.admin) if key is not None else None


def sign_in_caller(token: str) -> Caller | None:
    """The live key of a token typed into the dashboard's sign-in form, checked like a bearer token."""
    return _lookup(token.strip() or None)


def _require_key() -> None:
    """Refuse /v1 requests without a live key (401 with `WWW-Authenticate: Bearer`)."""
    if not is_api_path(request.path):
        return
    caller = authenticated()
    if caller is None:
        problem = "is invalid or revoked" if bearer_token() else "is missing"
        raise Unauthorized(f"the API key {problem}: send `Authorization: Bearer <token>`; an admin creates keys "
                           "with `catgan keys create --owner NAME`")
    g.owner, g.admin = caller.owner, caller.admin


def _local_owner() -> None:
    """Without auth everything belongs to the local owner, who may do anything."""
    g.owner, g.admin = LOCAL_OWNER, True


def install_auth(app: Flask, settings: Settings) -> None:
    """Register the hook that sets `g.owner` and `g.admin` for every request."""
    if settings.auth == "off":
        log.warning("authentication is off (CATGAN_AUTH=off): anyone who can reach the API acts as the admin "
                    "owner %r; keep it on a private interface", LOCAL_OWNER)
        app.before_request(_local_owner)
    else:
        app.before_request(_require_key)


def scope() -> str | None:
    """The owner whose things this request may see, or None for an admin (everything)."""
    return None if g.admin else g.owner


def owner() -> str:
    """The owner this request creates things as."""
    return g.owner


def is_admin() -> bool:
    """Whether the caller is an admin (sees everything, exempt from quotas)."""
    return bool(g.admin)
