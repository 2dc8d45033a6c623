"""The one mapping from errors to JSON: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from api.ratelimit import retry_after_seconds
from core.errors import (
    CatganError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[CatganError], int]] = [
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
    (UnsupportedMediaType, 415),
    (PayloadTooLarge, 413),
    (ServiceUnavailable, 503),
    (Unauthorized, 401),
    (Forbidden, 403),
    (QuotaExceeded, 429),
]

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests"}


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> ResponseReturnValue:
    """The JSON body every error shares."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status, headers or {}


def describe_fields(messages: Any, prefix: str = "") -> str:
    """One readable sentence from nested field messages, e.g. `params.lr_d: Must be greater than 0.`."""
    if isinstance(messages, dict):
        return "; ".join(describe_fields(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in messages.items())
    if isinstance(messages, list):
        text = " ".join(str(m) for m in messages if not isinstance(m, (dict, list)))
        nested = [describe_fields(m, prefix) for m in messages if isinstance(m, (dict, list))]
        return "; ".join(filter(None, [f"{prefix}: {text}" if text else "", *nested]))
    return f"{prefix}: {messages}"


def _domain_error(exc: CatganError) -> ResponseReturnValue:
    status = next((s for cls, s in STATUS_OF if isinstance(exc, cls)), 403)
    headers = {"WWW-Authenticate": 'Bearer realm="catgan"'} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, ServiceUnavailable) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, exc.code, exc.message, exc.fields, headers)


def _rate_limited(exc: RateLimitExceeded) -> ResponseReturnValue:
    """429 with Retry-After: the key (or address) used up its requests for this window."""
    seconds = retry_after_seconds(exc)
    return error_response(429, "rate_limited", f"rate limit of {exc.description} exceeded (CATGAN_RATE_LIMIT); "
                          f"retry in {seconds} s", headers={"Retry-After": str(seconds)})


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error")
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if messages:
        # webargs nests by location ({"query": {...}}); users care about the field, not the location
        fields = {k: v for loc in messages.values() for k, v in loc.items()} if all(
            isinstance(v, dict) for v in messages.values()) else messages
        return error_response(status, code, describe_fields(fields), fields)
    return error_response(status, code, exc.description or exc.name)


def _unexpected_error(exc: Exception) -> ResponseReturnValue:
    log.exception("unhandled error")
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, which they replace)."""
    app.register_error_handler(CatganError, _domain_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
