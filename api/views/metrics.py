"""GET /metrics: Prometheus figures for operators, on the API's port (left out of the OpenAPI document, which is
the users' API).

Off with CATGAN_METRICS=off (then 404); with CATGAN_METRICS_TOKEN set, a scrape must send it as a bearer token.
Under gunicorn, PROMETHEUS_MULTIPROC_DIR makes every process's request latencies add up at each scrape; the
database and broker figures are read at the scrape itself, so any process answers the same.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from api.auth import bearer_token
from api.context import EXTENSION
from core.errors import Unauthorized
from core.metrics import CatganCollector
from core.settings import Settings

PATH = "/metrics"


def install(app: Flask, settings: Settings, registry: CollectorRegistry) -> None:
    """Serve `registry` (this process's HTTP latencies) and the database/broker figures at /metrics."""
    ctx = app.extensions[EXTENSION]
    collector = CatganCollector(ctx.sessions, ctx.celery)
    multiproc_dir = settings.prometheus_multiproc_dir
    if multiproc_dir is None:
        registry.register(collector)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    blueprint = Blueprint("metrics", __name__)

    @blueprint.route(PATH, methods=["GET"])
    def scrape() -> Response:
        """The exposition, in the format the scraper accepts (Prometheus text or OpenMetrics)."""
        _check_token(token)
        served = registry
        if multiproc_dir is not None:  # every process's histograms from their files, plus the shared figures
            served = CollectorRegistry(auto_describe=True)
            MultiProcessCollector(served, path=str(multiproc_dir))
            served.register(collector)
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encoder(served), content_type=content_type)

    app.register_blueprint(blueprint)


def _check_token(token: str | None) -> None:
    """Refuse a scrape without the configured bearer token (none configured: open)."""
    if token is None:
        return
    given = bearer_token() or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("/metrics needs the metrics token: send `Authorization: Bearer <CATGAN_METRICS_TOKEN>`",
                           code="metrics_token_required")
