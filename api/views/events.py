"""Live events: one job's, or all of the caller's jobs', as server-sent events (see api/events_stream.py).

Each stream holds a request thread for its life, so a process serves at most `events_max_streams` at once
(past that, 503 `too_many_streams` with Retry-After): the other threads stay free for the rest of the API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from flask import Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api import auth
from api.context import context, transaction
from api.events_stream import StreamPlan, check_last_event_id, job_stream, owner_stream, sse_messages
from api.schemas import ErrorSchema
from core.errors import Forbidden, ServiceUnavailable

blp = Blueprint("events", __name__, url_prefix="/v1", description="Live events (server-sent events)")

SLOTS = "catgan.event_stream_slots"
BUSY_RETRY_SECONDS = 5
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering either

EVENT_STREAM_DOC = {
    "description": "`text/event-stream`: messages `id: <Redis entry id>`, `event: status|progress|sheet|"
                   "checkpoint|shard|artifact`, `data: <JSON with the job's id and status and what changed>`; a "
                   "`: keep-alive` comment every CATGAN_EVENTS_HEARTBEAT_SECONDS while idle. Reconnect with "
                   "`Last-Event-ID` (or `?last_event_id=`) to continue right after the last event received.",
    "content": {"text/event-stream": {"schema": {  # one server-sent event (schemathesis validates each)
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "the Redis stream entry id: send it back as Last-Event-ID"},
            "event": {"type": "string", "enum": ["status", "progress", "sheet", "checkpoint", "shard", "artifact"]},
            "data": {"type": "string", "description": "a JSON object: the job's `id` and `status`, and by type "
                     "`previous`+`error`, `progress`, `artifact` or `checkpoint`"},
            "retry": {"type": "integer", "description": "milliseconds to wait before reconnecting"},
        },
    }}},
}
LAST_EVENT_ID_DOC = {"in": "header", "name": "Last-Event-ID", "required": False, "schema": {"type": "string"},
                     "description": "the `id:` of the last event received: the stream continues right after it"}


class ResumeQuerySchema(Schema):
    last_event_id = fields.String(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "as the Last-Event-ID header (for clients that cannot set headers); the header wins"})


class OwnerEventsQuerySchema(ResumeQuerySchema):
    owner = fields.String(load_default=None, validate=validate.Length(min=1, max=100), metadata={
        "description": "admins only: read this owner's stream instead of their own"})


@blp.route("/jobs/<int:job_id>/events", methods=["GET"])
@blp.arguments(ResumeQuerySchema, location="query", as_kwargs=True)
@blp.doc(parameters=[LAST_EVENT_ID_DOC], responses={200: EVENT_STREAM_DOC})
@blp.alt_response(422, schema=ErrorSchema, description="Last-Event-ID is not an id this stream sent.")
@blp.alt_response(503, schema=ErrorSchema, description="Live events are unavailable (`events_unavailable`: poll "
                  "GET /v1/jobs/{id}), or this server is at CATGAN_EVENTS_MAX_STREAMS (`too_many_streams`, with "
                  "Retry-After).")
def job_events(job_id: int, last_event_id: str | None) -> ResponseReturnValue:
    """Follow one job: without Last-Event-ID a `status` event of its current row first, then every change as it
    happens; the stream ends after the job's terminal `status` event."""
    resume = check_last_event_id(request.headers.get("Last-Event-ID") or last_event_id)
    with transaction() as session:
        plan = job_stream(settings=context().settings, session=session, job_id=job_id, scope=auth.scope(),
                          last_event_id=resume)
    return stream_response(plan)


@blp.route("/events", methods=["GET"])
@blp.arguments(OwnerEventsQuerySchema, location="query", as_kwargs=True)
@blp.doc(parameters=[LAST_EVENT_ID_DOC], responses={200: EVENT_STREAM_DOC})
@blp.alt_response(403, schema=ErrorSchema, description="`owner=` names another owner and the key is not an "
                  "admin's (`admin_required`).")
@blp.alt_response(422, schema=ErrorSchema, description="Last-Event-ID is not an id this stream sent.")
@blp.alt_response(503, schema=ErrorSchema, description="Live events are unavailable (`events_unavailable`), or "
                  "this server is at CATGAN_EVENTS_MAX_STREAMS (`too_many_streams`, with Retry-After).")
def owner_events(last_event_id: str | None, owner: str | None) -> ResponseReturnValue:
    """Follow every job of the caller (an admin: of `owner`, or their own): no snapshot, changes from now on (or
    right after Last-Event-ID). It never ends by itself; the server closes it after CATGAN_EVENTS_MAX_STREAM_SECONDS
    and the client reconnects."""
    resume = check_last_event_id(request.headers.get("Last-Event-ID") or last_event_id)
    if owner is not None and owner != auth.owner() and not auth.is_admin():
        raise Forbidden("reading another owner's events needs an admin API key; leave out `owner`",
                        code="admin_required")
    plan = owner_stream(settings=context().settings, owner=owner or auth.owner(), last_event_id=resume)
    return stream_response(plan)


def stream_response(plan: StreamPlan) -> Response:
    """The streaming response of `plan`, holding one of this process's stream slots until it closes."""
    release = take_slot()
    api = context()
    try:
        body: Iterator[str] = stream_with_context(sse_messages(plan, settings=api.settings, sessions=api.sessions))
        response = Response(body, mimetype="text/event-stream", headers=STREAM_HEADERS)
    except BaseException:
        release()
        raise
    response.call_on_close(release)  # also when the client goes away before the first byte
    return response


def take_slot() -> Callable[[], None]:
    """Take a stream slot of this process, or 503 with Retry-After; returns the (idempotent) release."""
    slots: threading.BoundedSemaphore = current_app.extensions.setdefault(
        SLOTS, threading.BoundedSemaphore(context().settings.events_max_streams))
    if not slots.acquire(blocking=False):
        raise ServiceUnavailable(f"this server already serves CATGAN_EVENTS_MAX_STREAMS="
                                 f"{context().settings.events_max_streams} event streams; retry in "
                                 f"{BUSY_RETRY_SECONDS} s or poll GET /v1/jobs/{{id}}",
                                 code="too_many_streams", retry_after=BUSY_RETRY_SECONDS)
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            slots.release()

    return release
