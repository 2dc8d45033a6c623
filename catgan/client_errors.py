"""What the client knows of failure: the API's error answers, an unreachable service, and how to retry."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from catgan.client_types import Json

TERMINAL = {"succeeded", "failed", "cancelled"}
# POST paths the server deduplicates by Idempotency-Key (or that are idempotent anyway): safe after a lost answer
SAFE_POSTS = ("/v1/jobs", "/v1/datasets")
SAFE_POST_SUFFIXES = ("/cancel",)


class CatganApiError(Exception):
    """An error response: HTTP status, machine-readable code, message and field errors."""

    def __init__(self, status: int, code: str, message: str, fields: Json | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class CatganConnectionError(Exception):
    """The service could not be reached (refused, reset, timed out) after the allowed retries."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: `attempts` in all, backoff doubling from `backoff` to `max_delay`."""

    attempts: int = 5
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: the server's Retry-After when it gave one."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_delay)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(self.backoff * 2**attempt, self.max_delay)


def error_of(response: requests.Response) -> CatganApiError:
    """The API error an error response carries (or a generic one for a proxy's page)."""
    try:
        error = response.json()["error"]
        if not isinstance(error, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        error = {"code": "http_error", "message": f"HTTP {response.status_code}: {response.text[:200].strip()}"}
    return CatganApiError(response.status_code, error.get("code", "error"), error.get("message", ""),
                          error.get("fields"))


def is_safe(method: str, path: str) -> bool:
    """Whether a request may be sent again after its answer was lost (GET/PUT/DELETE and deduplicated POSTs)."""
    route = path.split("?", 1)[0]
    return method != "POST" or route in SAFE_POSTS or route.endswith(SAFE_POST_SUFFIXES)
