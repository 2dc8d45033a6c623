"""Following jobs: the SSE stream of /v1/jobs/{id}/events (resumed with Last-Event-ID), and polling as its fallback.

The contract is /work/notes/events.md: `status`, `progress`, `sheet`, `checkpoint`, `shard` and `artifact` events
whose JSON data carries the job's `id` and `status`; a job's stream ends after its terminal `status` event.
Polling makes the same events from GET /v1/jobs/{id}, so a caller handles one shape either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests

from catgan.sse import Event, SSEParser, parse_stream

if TYPE_CHECKING:
    from catgan.client import CatganClient
    from catgan.client_types import Job

UNAVAILABLE = (404, 405, 501, 503)  # no events endpoint here (an older server, or it is switched off)
SHEET_KINDS = {"sample_grid"}


class EventsUnavailable(Exception):
    """The events endpoint is missing or keeps failing; poll instead."""


def stream_events(client: CatganClient, job_id: int | None, last_event_id: str | None = None, *,
                  max_failures: int = 5, read_timeout: float = 60.0) -> Iterator[Event]:
    """Events as they come; on a dropped connection reconnect with Last-Event-ID (no loss, no repeats).

    Raises EventsUnavailable when the endpoint answers 404/405/501/503 or `max_failures` connections in a row
    fail, and CatganApiError for other error answers (401, 403...). A job's stream returns after its terminal
    status event (the server closes it then).
    """
    from catgan.client import TERMINAL, error_of

    path = f"/v1/jobs/{job_id}/events" if job_id is not None else "/v1/events"
    parser, failures = SSEParser(last_event_id=last_event_id), 0
    while True:
        headers = client.headers | {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if parser.last_event_id:
            headers["Last-Event-ID"] = parser.last_event_id
        try:
            with client.http.get(client.base_url + path, headers=headers, stream=True,
                                 timeout=(min(client.timeout, 10.0), read_timeout)) as response:
                if response.status_code in UNAVAILABLE:
                    raise EventsUnavailable(f"{path} answered {response.status_code}")
                if response.status_code >= 400:
                    raise error_of(response)
                for event in parse_stream(response.iter_content(chunk_size=None), parser):
                    failures = 0
                    yield event
                    if job_id is not None and event.event == "status" and event.payload.get("status") in TERMINAL:
                        return
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
            pass  # a drop: reconnect below
        failures += 1  # a stream that ended before its job did counts as a drop too
        if failures >= max_failures:
            raise EventsUnavailable(f"{path}: {failures} connections in a row failed")
        client.sleep(parser.retry_ms / 1000 if parser.retry_ms is not None else client.retry.delay(failures - 1))


def watch_job(client: CatganClient, job_id: int, *, poll: float = 2.0, max_failures: int = 5) -> Iterator[Event]:
    """A job's events until it ends: the live stream, else (or once it fails) polling every `poll` s."""
    from catgan.client import TERMINAL

    status: str | None = None
    try:
        for event in stream_events(client, job_id, max_failures=max_failures):
            status = event.payload.get("status", status)
            yield event
        if status in TERMINAL:
            return
    except EventsUnavailable:
        pass
    yield from poll_job(client, job_id, poll=poll)


def poll_job(client: CatganClient, job_id: int, *, poll: float = 2.0) -> Iterator[Event]:
    """The events of events.md made from polling GET /v1/jobs/{id}: status changes, progress, new sheets."""
    from catgan.client import TERMINAL

    status: str | None = None
    progress: Any = None
    sheets: set[int] = set()
    while True:
        job = client.job(job_id)
        changed = job["status"] != status
        terminal = job["status"] in TERMINAL
        if changed and not terminal:
            yield _status_event(job, status)
        if job.get("progress") != progress:
            progress = job.get("progress")
            yield _event("progress", job, progress=progress)
        for artifact in job.get("artifacts", []):
            if artifact.get("kind") in SHEET_KINDS and artifact["id"] not in sheets:
                sheets.add(artifact["id"])
                yield _event("sheet", job, artifact=artifact)
        if changed and terminal:
            yield _status_event(job, status)  # the last event, as on the live stream
            return
        status = job["status"]
        time.sleep(poll)


def _status_event(job: Job, previous: str | None) -> Event:
    return _event("status", job, previous=previous, error=job.get("error"))


def _event(kind: str, job: Job, **fields: Any) -> Event:
    return Event(event=kind, data=json.dumps({"id": job["id"], "status": job["status"], **fields}))
