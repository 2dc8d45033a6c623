"""The local API key of `catgan up`: made at first start for the owner `local`, read by the CLI and quickstart."""

from __future__ import annotations

import os
from pathlib import Path

from core.db import make_engine, make_session_factory, session_scope
from core.models import LOCAL_OWNER
from core.services import keys
from core.settings import Settings

KEY_FILE = "api-key"


def key_file(settings: Settings) -> Path:
    """HOME/api-key: the one place the local key's token lives in clear (the database keeps only its sha256)."""
    return settings.home / KEY_FILE


def read_local_token(settings: Settings) -> str | None:
    """The saved local token, if there is one."""
    path = key_file(settings)
    return (path.read_text().strip() or None) if path.is_file() else None


def ensure_local_key(settings: Settings) -> tuple[str, bool]:
    """The local owner's admin token, made and saved unless the saved one still works; (token, made now).

    Admin: whoever reads HOME/api-key can read HOME anyway, and quickstart registers a server-side folder
    (admin keys only). A saved key from before, not an admin's, is replaced.
    """
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            token = read_local_token(settings)
            saved = keys.authenticate(session=session, token=token) if token else None
            if token and saved is not None and saved.admin:
                return token, False
            _, token = keys.create_key(session=session, owner=LOCAL_OWNER, admin=True)
            _write_private(key_file(settings), token)  # before the commit: no key is ever made without its file
            return token, True
    finally:
        engine.dispose()


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by this user only: mode 0600 from creation, swapped in atomically."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    os.replace(temporary, path)
