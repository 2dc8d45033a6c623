"""Per-request instrumentation: an X-Request-ID on every request and its log lines, and the latency histogram.

The histogram is labelled by the matched URL rule (`/v1/jobs/<int:job_id>`), never the raw path, and by a method
from a fixed set: a client cannot grow the number of series by sending odd paths or methods.
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram

from api.views import metrics
from core.logs import bind_request_id, unbind_request_id
from core.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
# an id from a proxy or client is kept if it is short and plain (it ends up in log lines); otherwise a new one
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"  # no URL rule matched: a 404 (or a 405's twin), whatever the path was
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def install_instrumentation(app: Flask, settings: Settings) -> None:
    """Tag requests with ids, time them, and serve /metrics (when on); install first, so it times the other hooks."""
    registry = CollectorRegistry(auto_describe=True)
    latency = Histogram("catgan_http_request_duration_seconds", "Time to answer an API request, by route.",
                        ["route", "method", "status"], registry=registry, buckets=LATENCY_BUCKETS)

    def start() -> None:
        g.catgan_started = time.perf_counter()
        g.request_id = _request_id()
        g.catgan_log_token = bind_request_id(g.request_id)

    def finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or _request_id()
        started = g.get("catgan_started")
        if started is not None:
            latency.labels(route_label(), method_label(), str(response.status_code)).observe(
                time.perf_counter() - started)
        return response

    def unbind(_exc: BaseException | None) -> None:
        token = g.pop("catgan_log_token", None)
        if token is not None:
            unbind_request_id(token)

    app.before_request(start)
    app.after_request(finish)
    app.teardown_request(unbind)
    if settings.metrics == "on":
        metrics.install(app, settings, registry)


def _request_id() -> str:
    """The caller's X-Request-ID when it is a plain short token, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _ACCEPTED_ID.fullmatch(given) else uuid.uuid4().hex


def route_label() -> str:
    """The URL rule the request matched (bounded: one per route), or `unmatched`."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED_ROUTE


def method_label() -> str:
    """The request's method, or `other` for one outside the standard set."""
    return request.method if request.method in METHODS else "other"
