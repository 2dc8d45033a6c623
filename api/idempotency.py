"""The `Idempotency-Key` header of the creating POSTs: a repeat gets the first response again.

A view opts in with `@idempotent(endpoint, schema)` (right under `@blp.route`) and calls `remember(...)`
inside the transaction that creates its row; an upload view reads its file through `hashed_upload`, so
the file is hashed while it is saved rather than read a second time.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from flask import Response, current_app, g, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from api.context import context, transaction
from core.errors import InvalidInput
from core.models import LOCAL_OWNER, IdempotencyKey, utcnow
from core.services import idempotency as service

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_FORMAT = re.compile(r"[\x20-\x7e]{1,200}")  # printable ASCII
CHUNK = 1024 * 1024

HEADER_DOC = {"in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 200},
              "description": "Repeat a request safely: the same key with the same body returns the first response "
                             f"(with `{REPLAYED_HEADER}: true`); with another body → 409 `idempotency_key_reused`."}


class HashingReader(io.RawIOBase):
    """A binary stream that hashes what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(-1 if size is None else size)
        self._sha.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        """The digest of the whole stream (what was not read yet is read now, in chunks)."""
        for _ in iter(lambda: self.read(CHUNK), b""):
            pass
        return self._sha.hexdigest()


@dataclass
class _Scope:
    """The keyed request being served."""

    owner: str
    endpoint: str
    key: str
    schema: Schema
    readers: dict[int, HashingReader] = field(default_factory=dict)  # by id() of the request's FileStorage
    _hash: str | None = None

    def request_hash(self) -> str:
        """sha256 over the request's canonical form (JSON sorted; multipart: file digests and sorted fields)."""
        if self._hash is None:
            self._hash = hashlib.sha256(_canonical_body(self.readers)).hexdigest()
        return self._hash


def _canonical_body(readers: dict[int, HashingReader]) -> bytes:
    if request.mimetype == "multipart/form-data":
        files = sorted([name, upload.filename or "", _file_digest(upload, readers)]
                       for name, upload in request.files.items(multi=True))
        form = sorted(request.form.items(multi=True))
        return b"multipart\n" + json.dumps({"files": files, "form": form}).encode()
    body = request.get_json(silent=True) if request.is_json else None
    if body is None:
        return b"raw\n" + request.get_data()
    return b"json\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _file_digest(upload: FileStorage, readers: dict[int, HashingReader]) -> str:
    """The file's sha256: from the reader the view saved it through, else read now."""
    return (readers.get(id(upload)) or HashingReader(upload.stream)).hexdigest()


def _request_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not KEY_FORMAT.fullmatch(key):
        raise InvalidInput(f"{HEADER} must be 1 to 200 printable ASCII characters", code="invalid_idempotency_key",
                           fields={HEADER: ["1 to 200 printable ASCII characters."]})
    return key


def _scope() -> _Scope | None:
    return g.get("idempotency_scope")


def _replay(row: IdempotencyKey) -> Response:
    response = current_app.json.response(row.response["body"])
    response.status_code = row.status_code
    response.headers.update(row.response.get("headers") or {})
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _stored(scope: _Scope) -> IdempotencyKey | None:
    with transaction() as session:
        return service.find_key(session=session, owner=scope.owner, endpoint=scope.endpoint, key=scope.key,
                                now=utcnow())


def idempotent(endpoint: str, schema: type[Schema]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Honour `Idempotency-Key` on a creating view whose 2xx body `schema` describes."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def serve(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            key = _request_key()
            if key is None:
                return view(*args, **kwargs)
            scope = _Scope(getattr(g, "owner", LOCAL_OWNER), endpoint, key, schema())
            g.idempotency_scope = scope
            row = _stored(scope)  # the transaction is closed before a large upload is hashed
            if row is not None:
                return _replay(service.check_same_request(row, scope.request_hash()))
            try:
                return view(*args, **kwargs)
            except service.KeyTaken:
                # a concurrent request with this key committed first; ours rolled back: answer with its result
                log.info("%s with Idempotency-Key %r lost a race; replaying the winner's response", endpoint, key)
                row = _stored(scope)
                if row is None:
                    raise
                return _replay(service.check_same_request(row, scope.request_hash()))

        return serve

    return decorate


def hashed_upload(upload: FileStorage) -> BinaryIO:
    """The upload's stream; under a key, one that hashes the bytes as the view reads them."""
    scope = _scope()
    if scope is None:
        return upload.stream
    reader = scope.readers.setdefault(id(upload), HashingReader(upload.stream))
    return cast(BinaryIO, reader)


def remember(session: Session, body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> None:
    """Store the response of a keyed request in `session`'s transaction (the one that creates its row).

    Raises:
        KeyTaken: a concurrent request stored this key first; let it propagate so the transaction rolls back.
    """
    scope = _scope()
    if scope is None:
        return
    service.store_key(session=session, owner=scope.owner, endpoint=scope.endpoint, key=scope.key,
                      request_hash=scope.request_hash(), status_code=status,
                      response={"body": scope.schema.dump(body), "headers": headers or {}},
                      ttl_seconds=context().settings.idempotency_ttl_seconds, now=utcnow())


def forget(session: Session) -> None:
    """Drop the stored response of this keyed request (its work was undone; a retry must redo it)."""
    scope = _scope()
    if scope is not None:
        service.delete_key(session=session, owner=scope.owner, endpoint=scope.endpoint, key=scope.key)
