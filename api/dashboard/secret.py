"""The key that signs the dashboard's session cookies: CATGAN_SECRET_KEY, or one made once and kept in HOME."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.settings import Settings

SECRET_FILE = "secret-key"


def secret_key(settings: Settings) -> str:
    """The configured secret, else HOME/secret-key's (made now if missing: every API process reads the same one)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.home / SECRET_FILE
    if not path.is_file():
        _create_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _create_private(path: Path, text: str) -> None:
    """Write `text` readable by this user only, unless another process made the file first (the first one wins)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    try:
        os.link(temporary, path)  # atomic, and fails if the file exists: two gunicorn workers agree on one key
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
