"""Logging for every process, configured once: text or JSON lines, each carrying the request id or job id it is for.

The API binds the request id of each request (`bind_request_id`), a worker the id of the job it runs
(`job_context`); a filter on the one root handler copies them onto every record, whichever logger made it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from core.settings import Settings

CONTEXT_FIELDS = ("request_id", "job_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}

_request_id: ContextVar[str | None] = ContextVar("catgan_request_id", default=None)
_job_id: ContextVar[int | None] = ContextVar("catgan_job_id", default=None)
# A worker's pool child runs one job at a time, so the threads a job starts (lease heartbeat, data loading)
# log for it too, although a thread does not inherit the context of the one that started it.
_process_job_id: int | None = None


class ContextFilter(logging.Filter):
    """Put the current request id and job id on a record (as `request_id` / `job_id`) when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = _job_id.get()
        values = {"request_id": _request_id.get(), "job_id": _process_job_id if job_id is None else job_id}
        for name, value in values.items():
            if value is not None and getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """The plain line, with `[request_id=... job_id=...]` after the message when the record has them."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS
                       if getattr(record, name, None) is not None)
        return f"{line} [{ids}]" if ids else line


def wants_json(settings: Settings, stream: IO[str]) -> bool:
    """JSON unless asked for text, or `auto` on a terminal (plain text stays what a person reads)."""
    if settings.log_format == "auto":
        return not (hasattr(stream, "isatty") and stream.isatty())
    return settings.log_format == "json"


def make_formatter(settings: Settings, stream: IO[str]) -> logging.Formatter:
    """The formatter `settings.log_format` asks for, on `stream`."""
    if wants_json(settings, stream):
        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, json_ensure_ascii=False)
    return TextFormatter(TEXT_FORMAT)


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Make the root logger write to `stream` (stderr) in the configured format; replaces earlier handlers."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(settings, stream))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler


def bind_request_id(request_id: str) -> Token[str | None]:
    """Tag this context's log lines with `request_id` until `unbind_request_id`."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    """Stop tagging log lines with the request id bound by `token`."""
    _request_id.reset(token)


def current_request_id() -> str | None:
    """The request id log lines are tagged with now, if any."""
    return _request_id.get()


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Tag every log line of this process with `job_id` while the block runs it."""
    global _process_job_id
    token, before = _job_id.set(job_id), _process_job_id
    _process_job_id = job_id
    try:
        yield
    finally:
        _process_job_id = before
        _job_id.reset(token)
