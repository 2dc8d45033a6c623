"""Queue names, task names and the Celery app factory (the API sends tasks by name only)."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from core.settings import Settings
from core.states import JobType

TASK_TRAIN = "gan.train"
TASK_GENERATE = "gan.generate"
TASK_TRANSLATE = "gan.translate"
QUEUE_TRAIN = "train"
QUEUE_GENERATE = "generate"
TASK_WEBHOOK_DELIVER = "webhook.deliver"
QUEUE_WEBHOOKS = "webhooks"  # light: a worker of its own (threads pool), never behind a day-long job

TASK_FOR_JOB_TYPE = {
    JobType.TRAIN: (TASK_TRAIN, QUEUE_TRAIN),
    JobType.GENERATE: (TASK_GENERATE, QUEUE_GENERATE),
    JobType.TRANSLATE: (TASK_TRANSLATE, QUEUE_GENERATE),  # inference: runs beside generation
}


def make_celery(settings: Settings, name: str = "catgan") -> Celery:
    """A Celery app on the configured Redis broker: JSON only, late acks, one task at a time."""
    app = Celery(name, broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],  # a pickled message is refused, never run
        result_serializer="json",
        task_ignore_result=True,  # the database holds results; no result backend
        task_acks_late=True,  # a task lost with its worker is delivered again...
        task_reject_on_worker_lost=True,  # ...including when the worker process dies
        worker_prefetch_multiplier=1,  # long tasks: never hold a second one back
        task_queues=[Queue(QUEUE_TRAIN), Queue(QUEUE_GENERATE), Queue(QUEUE_WEBHOOKS)],
        task_default_queue=QUEUE_GENERATE,
        task_routes={TASK_TRAIN: {"queue": QUEUE_TRAIN}, TASK_GENERATE: {"queue": QUEUE_GENERATE},
                     TASK_TRANSLATE: {"queue": QUEUE_GENERATE}, TASK_WEBHOOK_DELIVER: {"queue": QUEUE_WEBHOOKS}},
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Redis redelivers an unacknowledged task after this long; it must exceed the longest job
            "visibility_timeout": settings.broker_visibility_timeout,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # Flower follows tasks by their events
        task_send_sent_event=True,
    )
    return app


def enqueue_job(app: Celery, job_id: int, job_type: str) -> None:
    """Send the task for a committed job; it carries only the job id."""
    task, queue = TASK_FOR_JOB_TYPE[JobType(job_type)]
    app.send_task(task, args=[job_id], queue=queue)


def enqueue_webhook(app: Celery, job_id: int, event: str, message_id: str, body: str) -> None:
    """Send one webhook message of a job to the delivery workers (its body is signed and sent as is, every attempt)."""
    app.send_task(TASK_WEBHOOK_DELIVER, args=[job_id, event, message_id, body], queue=QUEUE_WEBHOOKS)


def ping_broker(app: Celery, timeout: float = 2.0) -> None:
    """Raise if the broker cannot be reached within `timeout` seconds."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
