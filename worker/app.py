"""The Celery app `celery -A worker.app worker` loads: settings from the environment, tasks registered."""

from celery.signals import setup_logging

from core.logs import configure_logging
from core.queue import make_celery
from core.settings import Settings

settings = Settings()
app = make_celery(settings)
app.conf.include = ["worker.tasks", "worker.webhooks"]  # neither imports TensorFlow at load


@setup_logging.connect(weak=False)
def _configure_logging(**_: object) -> None:
    """Log our way (CATGAN_LOG_FORMAT, job ids on a job's lines) instead of Celery's; pool children inherit it."""
    configure_logging(settings)
