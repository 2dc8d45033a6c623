"""The web dashboard at `/`: pages for jobs, runs, models and datasets, and the `/ui/api` bridge they call."""

from __future__ import annotations

from flask import Flask

from api.dashboard import bridge, pages
from api.dashboard.secret import secret_key
from api.dashboard.session import configure_session, csrf_token
from core.settings import Settings

SWAGGER_UI_URL = "/ui/static/swagger-ui/"  # flask-smorest's /docs page loads Swagger UI from here, not a CDN


def install_dashboard(app: Flask, settings: Settings) -> None:
    """Sign sessions, and serve the pages and their JSON bridge."""
    configure_session(app, secret_key(settings))
    app.register_blueprint(pages.bp)
    app.register_blueprint(bridge.bp)
    app.jinja_env.globals["csrf_token"] = csrf_token
