"""The Flask application factory."""

from __future__ import annotations

from celery import Celery
from flask import Flask

from api.auth import install_auth
from api.context import EXTENSION, ApiContext
from api.dashboard import SWAGGER_UI_URL, install_dashboard
from api.errors import register_error_handlers
from api.instrumentation import install_instrumentation
from api.openapi import CatganApi, document_train_params
from api.ratelimit import install_rate_limit
from api.schemas import DatasetFolderSchema, JobCreateSchema, LabelSchema, PolicySchema
from api.validation import IdConverter, StrictJSONProvider, TextConverter
from api.views import artifacts, datasets, events, health, history, jobs, models, webhooks
from core.db import make_engine, make_session_factory
from core.events import install_event_sinks, make_event_sinks
from core.models_catalog import register_extra_models
from core.queue import make_celery
from core.settings import Settings

API_VERSION = "1.0.0"


def create_app(settings: Settings, *, celery: Celery | None = None) -> Flask:
    """Build the API for `settings` (the database must already be migrated)."""
    settings.ensure_directories()
    register_extra_models(settings)  # CATGAN_EXTRA_MODELS: the models a train job may name, as the workers know them
    app = Flask("catgan")
    app.json = StrictJSONProvider(app)  # NaN, Infinity, \u0000 and lone surrogates are invalid JSON (422)
    app.url_map.converters["int"] = IdConverter  # before any route: ids past the database's range are 404
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter  # and names with NUL
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        API_TITLE="catgan",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={"security": [{"bearer": []}]},  # every /v1 route; health routes opt out
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,  # /docs, its assets served here
    )
    engine = make_engine(settings)
    app.extensions[EXTENSION] = ApiContext(settings=settings, engine=engine, sessions=make_session_factory(engine),
                                           celery=celery or make_celery(settings))
    ctx = app.extensions[EXTENSION]
    install_event_sinks(ctx.sessions, make_event_sinks(settings, ctx.celery))  # job changes reach /v1/events
    install_instrumentation(app, settings)  # first: request ids and latencies cover the hooks below
    install_rate_limit(app, settings)  # before auth: requests with a bad key are limited by address
    install_auth(app, settings)
    api = CatganApi(app)
    api.spec.components.schema("JobCreate", schema=JobCreateSchema)
    api.spec.components.schema("DatasetFolder", schema=DatasetFolderSchema)
    api.spec.components.schema("Label", schema=LabelSchema)  # request bodies the views refer to by name
    api.spec.components.schema("Policy", schema=PolicySchema)
    document_train_params(api)  # every model a train job may name, extra ones included
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                   "description": "an API key: `catgan keys create --owner NAME`"})
    for module in (health, datasets, jobs, history, artifacts, models, events, webhooks):
        api.register_blueprint(module.blp)
    install_dashboard(app, settings)  # the pages at / and their /ui/api bridge (the /v1 API stays bearer-only)
    register_error_handlers(app)
    return app
