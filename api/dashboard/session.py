"""Who is using the dashboard: an API key given once at sign-in, then a signed session cookie; CSRF tokens.

The session keeps the key's sha256 (never the token) and every request looks the key up again, so a revoked key
signs its sessions out. The cookie is HttpOnly and SameSite=Strict; every state-changing dashboard request also
carries the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`). The /v1 API never reads the
cookie: it stays bearer-only (api/auth.py).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, current_app, g, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.auth import Caller, sign_in_caller
from api.context import context, transaction
from core.errors import Forbidden
from core.services import keys

CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
SIGN_IN_SALT, SIGN_IN_MAX_AGE = "catgan-sign-in", 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configure_session(app: Flask, secret: str) -> None:
    """Sign sessions with `secret`; the cookie is out of scripts' reach and never sent cross-site."""
    app.secret_key = secret
    app.config.update(SESSION_COOKIE_NAME="catgan_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_REFRESH_EACH_REQUEST=False)


def auth_off() -> bool:
    return context().settings.auth == "off"


def load_session_caller() -> bool:
    """Set `g.owner`/`g.admin` from the session's key (still live); whether someone is signed in."""
    if auth_off():
        return True  # api.auth has made the request the local admin's
    key_hash = session.get("key_hash")
    if not isinstance(key_hash, str):
        return False
    with transaction() as db:
        key = keys.live_key(session=db, key_hash=key_hash)
        if key is None:
            session.clear()  # revoked since sign-in
            return False
        g.owner, g.admin = key.owner, key.admin
    return True


def sign_in(token: str) -> Caller | None:
    """Start a session for the key of `token`; None (and no session) if the key is unknown or revoked."""
    caller = sign_in_caller(token)
    if caller is None:
        return None
    session.clear()
    session["key_hash"], session["csrf"] = caller.key_hash, secrets.token_urlsafe(32)
    return caller


def sign_out() -> None:
    session.clear()


def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def require_csrf() -> None:
    """Refuse a state-changing request whose CSRF token is missing or not the session's (403 csrf_failed)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again",
                        code="csrf_failed")


def sign_in_form_token() -> str:
    """A signed, timed token for the sign-in form (no cookie exists before sign-in to bind one to)."""
    return _sign_in_serializer().dumps("sign-in")


def check_sign_in_form_token(token: str) -> None:
    """Refuse a sign-in post that did not come from our own form within the hour (403 csrf_failed)."""
    try:
        _sign_in_serializer().loads(token, max_age=SIGN_IN_MAX_AGE)
    except BadSignature as exc:
        raise Forbidden("the sign-in form is stale or forged: reload the page and try again",
                        code="csrf_failed") from exc


def _sign_in_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=SIGN_IN_SALT)
