"""Requests per API key (flask-limiter), counted on the broker's Redis; one budget across all /v1 routes."""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from api.auth import authenticated, is_api_path
from core.settings import Settings

EXTENSION = "catgan.limiter"


def storage_uri(broker_url: str) -> str:
    """The `limits` URI of the broker's Redis: kombu's `redis+socket:///path` is `redis+unix:///path` there."""
    if broker_url.startswith("redis+socket://"):
        return "redis+unix://" + broker_url.removeprefix("redis+socket://")
    return broker_url


def rate_limit_key() -> str:
    """Whom a request counts against: its API key, or its address when it has no valid key."""
    caller = authenticated()
    return f"key:{caller.key_hash}" if caller is not None else f"addr:{request.remote_addr or 'unknown'}"


def install_rate_limit(app: Flask, settings: Settings) -> Limiter:
    """Limit /v1 requests to `settings.rate_limit` per key; with Redis down, count in memory instead of failing."""
    parse_many(settings.rate_limit)  # a malformed limit fails here, at start, not silently on every request
    limiter = Limiter(rate_limit_key, app=app, application_limits=[settings.rate_limit], key_prefix="catgan",
                      storage_uri=storage_uri(settings.broker_url), strategy="fixed-window",
                      swallow_errors=True, in_memory_fallback_enabled=True, headers_enabled=False)
    limiter.request_filter(lambda: not is_api_path(request.path))
    app.extensions[EXTENSION] = limiter
    return limiter


def retry_after_seconds(exc: RateLimitExceeded) -> int:
    """Whole seconds until the breached window resets (its full length if the store cannot say)."""
    try:
        reset_at = current_app.extensions[EXTENSION].current_limit.window[0]  # epoch seconds, float
        return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # noqa: BLE001 - the store may be down; the window length is a safe answer
        return max(1, int(exc.limit.limit.get_expiry()))
