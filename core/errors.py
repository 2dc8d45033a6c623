"""Domain errors: raised by services, mapped to HTTP once in `api.errors`."""

from __future__ import annotations

from typing import Any


class CatganError(Exception):
    """Base of every error a user can act on; `code` is machine-readable."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotFound(CatganError):
    """The thing asked for does not exist (or is not the caller's)."""

    code = "not_found"


class InvalidInput(CatganError):
    """The request is well-formed but its values are wrong; `fields` says which."""

    code = "validation_error"


class Conflict(CatganError):
    """The request contradicts the current state (e.g. cancelling a finished job)."""

    code = "conflict"


class IllegalTransition(Conflict):
    """A job state change the state machine does not allow."""

    code = "illegal_transition"


class UnsupportedMediaType(CatganError):
    """The upload is not a kind of file we read."""

    code = "unsupported_media_type"


class PayloadTooLarge(CatganError):
    """The upload or archive is over a configured limit."""

    code = "payload_too_large"


class ServiceUnavailable(CatganError):
    """A backing service (broker, database) cannot be reached right now, or the server is at capacity."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after  # seconds to wait before trying again (the Retry-After header), if known


class LeaseLost(Conflict):
    """A worker acted on a job whose lease another worker now holds (its own expired)."""

    code = "lease_lost"


class Forbidden(CatganError):
    """The caller's key may not do this (e.g. only admins register server-side folders)."""

    code = "forbidden"


class Unauthorized(CatganError):
    """The request carries no valid API key."""

    code = "unauthorized"


class QuotaExceeded(CatganError):
    """The caller's owner is at a configured quota; the message says which and what to do."""

    code = "quota_exceeded"


class WebhookRefused(CatganError):
    """A webhook's host is not allowed (any more), or resolves to an address the allow-list does not name."""

    code = "webhook_refused"
