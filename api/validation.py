"""Read and validate JSON request bodies, turning marshmallow errors into field-level 422s."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from api.errors import describe_fields
from core.errors import InvalidInput, UnsupportedMediaType


def json_body() -> Any:
    """The parsed JSON body; 415 when it is not JSON, 400-style 422 when it does not parse."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput("the request body is not valid JSON", code="invalid_json")
    return body


def load(schema: Schema, body: Any) -> dict[str, Any]:
    """Validate `body` against `schema`."""
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise InvalidInput(describe_fields(exc.messages_dict), fields=exc.messages_dict) from exc
