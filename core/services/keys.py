"""API keys: bearer tokens of an owner. Only a token's sha256 is stored; the token is shown once."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.models import ApiKey, utcnow
from core.services.owners import validate_owner

TOKEN_PREFIX = "cg_"  # makes a leaked token recognisable (secret scanners, logs)
PREFIX_LENGTH = 10  # characters of the token kept in clear to tell keys apart, e.g. "cg_AbC1234"


def hash_token(token: str) -> str:
    """The stored form of a token (a lookup key: tokens are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(*, session: Session, owner: str, admin: bool = False) -> tuple[ApiKey, str]:
    """A new key of `owner` and its token (the only time the token exists in clear)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(owner=validate_owner(owner), key_hash=hash_token(token), prefix=token[:PREFIX_LENGTH], admin=admin)
    session.add(key)
    session.flush()
    return key, token


def revoke_key(*, session: Session, key_id_or_prefix: str) -> ApiKey:
    """Revoke a key named by its id or its prefix (revoking twice is harmless).

    Raises:
        NotFound: no such key. InvalidInput: the prefix names several keys.
    """
    condition = ApiKey.prefix == key_id_or_prefix
    if key_id_or_prefix.isdigit():
        condition = or_(condition, ApiKey.id == int(key_id_or_prefix))
    matches = list(session.scalars(select(ApiKey).where(condition)))
    if not matches:
        raise NotFound(f"no API key with id or prefix {key_id_or_prefix!r}")
    if len(matches) > 1:
        raise InvalidInput(f"{len(matches)} keys match {key_id_or_prefix!r}; revoke by id",
                           fields={"key": ["Ambiguous."]})
    key = matches[0]
    key.revoked_at = key.revoked_at or utcnow()
    session.flush()
    return key


def list_keys(*, session: Session, owner: str | None = None) -> list[ApiKey]:
    """Keys (of `owner`, or all), oldest first, revoked ones included."""
    query = select(ApiKey).order_by(ApiKey.id)
    if owner is not None:
        query = query.where(ApiKey.owner == owner)
    return list(session.scalars(query))


def authenticate(*, session: Session, token: str) -> ApiKey | None:
    """The live key of `token`, or None (unknown or revoked)."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
    return key if key is not None and key.revoked_at is None else None


def live_key(*, session: Session, key_hash: str) -> ApiKey | None:
    """The live key stored as `key_hash` (a signed-in dashboard session keeps the hash, never the token), or None."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
    return key if key is not None and key.revoked_at is None else None
