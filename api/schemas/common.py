"""What request and response schemas share: field types, id and name bounds."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

from core.models import MAX_ID
from core.services.job_requests import MAX_SEED

NAME = validate.Length(min=1, max=200)
ID = validate.Range(min=1, max=MAX_ID, error="Must be an id between {min} and {max}.")


class Timestamp(fields.DateTime):
    """An RFC 3339 date-time with its offset: SQLite hands stored times back naive, and they are UTC."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class FullMatch(validate.Regexp):
    """A pattern the whole value must match: marshmallow's Regexp matches a prefix, and `$` lets a final newline
    through (a model name becomes a folder and a models.config entry). The OpenAPI document shows the pattern."""

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


SEED = validate.Range(min=0, max=MAX_SEED)
LABEL_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")

