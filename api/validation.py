"""Read and validate request input: strict JSON, bounded ids, marshmallow errors as field-level 422s."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch

from api.errors import describe_fields
from core.errors import InvalidInput, UnsupportedMediaType
from core.models import MAX_ID


class StrictJSONProvider(DefaultJSONProvider):
    """Request JSON as RFC 8259 has it, and only text the database can store.

    Python's parser accepts NaN, Infinity (also as 1e400), lone surrogates and `\\u0000`; none is a value any
    field takes, and PostgreSQL refuses the last two, so each is a parse error (a 422), never a 500 later on.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, parse_constant=_refuse_constant, parse_float=_finite_float, **kwargs)
        except RecursionError as exc:  # not a ValueError: Flask would let it through as a 500
            raise ValueError("the JSON is nested too deeply") from exc
        _check_strings(value)
        return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to inf
        raise ValueError(f"{text} is too large for a number")
    return value


def _check_strings(value: Any) -> None:
    """Refuse NUL characters and lone surrogates in any key or string (iteratively: nesting may be deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise ValueError("strings may not contain \\u0000")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError("strings may not contain lone surrogates") from exc


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: an id the database can hold, so a larger one is a 404, not a database error."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """`<name>` in a route: text the database can store; with a NUL in it the route does not match (a 404)."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise NoMatch()
        return value


def json_body() -> Any:
    """The parsed JSON body; 415 when it is not JSON, 422 (`invalid_json`) when it does not parse."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    try:
        body = request.get_json()
    except BadRequest as exc:
        reason = str(exc.description).removeprefix("Failed to decode JSON object: ")
        raise InvalidInput(f"the request body is not valid JSON: {reason}", code="invalid_json") from exc
    return body  # may be null, a list...: the schema says what is wrong with it


def load(schema: Schema, body: Any) -> dict[str, Any]:
    """Validate `body` against `schema`."""
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise InvalidInput(describe_fields(exc.messages_dict), fields=exc.messages_dict) from exc
