"""The Celery app `celery -A worker.app worker` loads: settings from the environment, tasks registered."""

from core.queue import make_celery
from core.settings import Settings

settings = Settings()
app = make_celery(settings)
app.conf.include = ["worker.tasks"]
