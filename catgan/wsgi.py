"""WSGI entry for production servers: `gunicorn -c python:catgan.gunicorn_conf 'catgan.wsgi:app'`."""

from api.app import create_app
from core.logs import configure_logging
from core.settings import Settings

settings = Settings()
configure_logging(settings)  # each server process logs as CATGAN_LOG_FORMAT says, request ids included
app = create_app(settings)
