"""Owner scoping: who may see a row. `owner=None` means an admin (no filter).

Another owner's row is answered exactly like a missing one, so ids do not reveal what exists.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from core.errors import InvalidInput

OWNER_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
S = TypeVar("S", bound=Select[Any])


def validate_owner(name: str) -> str:
    """The owner name, if it is 1-100 of `[a-z0-9._-]` starting alphanumeric (it appears in logs and paths)."""
    if not OWNER_PATTERN.fullmatch(name):
        raise InvalidInput(f"owner {name!r} is not valid: use 1-100 lowercase letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit", code="invalid_owner", fields={"owner": ["Invalid."]})
    return name


def visible(row_owner: str, owner: str | None) -> bool:
    """Whether a row of `row_owner` is visible to `owner` (None: an admin sees everything)."""
    return owner is None or row_owner == owner


def scoped(query: S, column: InstrumentedAttribute[str], owner: str | None) -> S:
    """`query` limited to `owner`'s rows (unchanged for an admin)."""
    return query if owner is None else query.where(column == owner)
