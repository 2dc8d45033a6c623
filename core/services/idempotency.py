"""Idempotency keys: the first response to a keyed request, kept so its repeats get it again.

No row is written before the work: the row is inserted in the same transaction that creates the
dataset or job, so a crash leaves neither (and the retry starts afresh), and of two racing requests
with one key the second's insert violates the unique (owner, endpoint, key) constraint and its whole
transaction rolls back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict
from core.models import IdempotencyKey


class KeyTaken(Conflict):
    """Another request stored a response under this key first (the caller replays it or refuses)."""

    code = "idempotency_key_in_use"


def find_key(*, session: Session, owner: str, endpoint: str, key: str, now: datetime) -> IdempotencyKey | None:
    """The unexpired stored response for `key`, or None."""
    return session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.owner == owner, IdempotencyKey.endpoint == endpoint, IdempotencyKey.key == key,
        IdempotencyKey.expires_at > now))


def check_same_request(row: IdempotencyKey, request_hash: str) -> IdempotencyKey:
    """The row, if it was stored for this very request body.

    Raises:
        Conflict: the key was first used with a different body (`idempotency_key_reused`).
    """
    if row.request_hash != request_hash:
        raise Conflict(f"Idempotency-Key {row.key!r} was already used with a different request body; "
                       "send a new key for a new request", code="idempotency_key_reused")
    return row


def store_key(*, session: Session, owner: str, endpoint: str, key: str, request_hash: str, status_code: int,
              response: dict[str, Any], ttl_seconds: float, now: datetime) -> None:
    """Record the response in the caller's transaction, replacing an expired row of the same key.

    Raises:
        KeyTaken: an unexpired row holds the key (a concurrent request won); the transaction must roll back.
    """
    session.flush()  # the caller's rows first, so an IntegrityError below can only be about the key
    try:
        session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.owner == owner, IdempotencyKey.endpoint == endpoint, IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now))
        session.execute(insert(IdempotencyKey).values(
            owner=owner, endpoint=endpoint, key=key, request_hash=request_hash, status_code=status_code,
            response=response, created_at=now, expires_at=now + timedelta(seconds=ttl_seconds)))
    except IntegrityError as exc:
        raise KeyTaken(f"a concurrent request already used Idempotency-Key {key!r}") from exc


def delete_key(*, session: Session, owner: str, endpoint: str, key: str) -> None:
    """Forget a stored response (its work was undone, so a retry must do it again)."""
    session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.owner == owner, IdempotencyKey.endpoint == endpoint, IdempotencyKey.key == key))


def purge_expired_keys(*, session: Session, now: datetime) -> int:
    """Delete every expired key; tell how many."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return result.rowcount  # type: ignore[attr-defined]
