"""WSGI entry for production servers: `gunicorn 'catgan.wsgi:app'`."""

from api.app import create_app
from core.settings import Settings

app = create_app(Settings())
