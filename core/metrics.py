"""Prometheus figures read from the database and the broker when scraped, so every API process reports the same truth.

Each family is one aggregate query (or one Redis pipeline), never a query per job: a scrape costs the same with
ten jobs or a million. A backing service that does not answer gives `catgan_database_up 0` / `catgan_broker_up 0`
and leaves its families out, rather than failing the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from celery import Celery
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Artifact, Job
from core.states import TERMINAL, JobStatus, JobType

log = logging.getLogger(__name__)

# job durations run from seconds (a failed claim, a small generate job) to a day of training
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0,
                    86400.0)
IMAGE_JOB_TYPES = (JobType.GENERATE.value, JobType.TRANSLATE.value)


class CatganCollector(Collector):
    """Jobs, durations, training speed, generated images and artifact bytes (database); queue depths (broker)."""

    def __init__(self, sessions: sessionmaker[Session], celery: Celery, broker_timeout: float = 2.0) -> None:
        self.sessions, self.celery, self.broker_timeout = sessions, celery, broker_timeout

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        yield from self._broker()

    def _database(self) -> Iterator[Metric]:
        try:
            with self.sessions() as session:
                families = [jobs_by_status(session), job_durations(session), training_speed(session),
                            generated_images(session), *artifact_totals(session)]
        except Exception as exc:  # noqa: BLE001 - a scrape reports the database down instead of failing
            log.warning("metrics: the database did not answer: %s", exc)
            families = []
        yield _up("catgan_database_up", "Whether the last scrape could read the database.", bool(families))
        yield from families

    def _broker(self) -> Iterator[Metric]:
        try:
            depths = queue_depths(self.celery, queue_names(self.celery), self.broker_timeout)
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics: the broker did not answer: %s", exc)
            depths = None
        yield _up("catgan_broker_up", "Whether the last scrape could read the broker's queues.", depths is not None)
        if depths is not None:
            family = GaugeMetricFamily("catgan_queue_depth", "Messages waiting on each Celery queue.",
                                       labels=["queue"])
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family


def _up(name: str, documentation: str, up: bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=1.0 if up else 0.0)


def jobs_by_status(session: Session) -> GaugeMetricFamily:
    """Jobs by type and status, every pair present (0 when none), so a series never vanishes."""
    counts = {(t, s): n for t, s, n in session.execute(
        select(Job.type, Job.status, func.count()).group_by(Job.type, Job.status))}
    family = GaugeMetricFamily("catgan_jobs", "Jobs by type and status.", labels=["type", "status"])
    for job_type in JobType:
        for status in JobStatus:
            family.add_metric([job_type.value, status.value], counts.get((job_type.value, status.value), 0))
    return family


def duration_seconds(session: Session) -> ColumnElement[Any]:
    """finished_at - started_at in seconds, in this database's dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    return func.extract("epoch", Job.finished_at - Job.started_at)


def job_durations(session: Session) -> HistogramMetricFamily:
    """How long finished jobs ran (started to finished), by type and status: the buckets counted by the query."""
    seconds = duration_seconds(session)
    buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
    rows = session.execute(
        select(Job.type, Job.status, func.count(), func.coalesce(func.sum(seconds), 0.0), *buckets)
        .where(Job.status.in_([s.value for s in TERMINAL]), Job.started_at.is_not(None),
               Job.finished_at.is_not(None))
        .group_by(Job.type, Job.status))
    family = HistogramMetricFamily("catgan_job_duration_seconds", "Run time of finished jobs, started to finished.",
                                   labels=["type", "status"])
    for job_type, status, count, total, *cumulative in rows:
        points = [(_bound(b), int(n or 0)) for b, n in zip(DURATION_BUCKETS, cumulative, strict=True)]
        family.add_metric([job_type, status], [*points, ("+Inf", int(count))], float(total))
    return family


def _bound(value: float) -> str:
    return f"{value:g}" if value < 1e6 else repr(value)


def training_speed(session: Session) -> GaugeMetricFamily:
    """Images per second of each running train job, as its worker last reported."""
    family = GaugeMetricFamily("catgan_training_images_per_second", "Training speed of each running train job.",
                               labels=["job_id"])
    rows = session.execute(select(Job.id, Job.progress).where(Job.type == JobType.TRAIN.value,
                                                               Job.status == JobStatus.RUNNING.value))
    for job_id, progress in rows:
        rate = (progress or {}).get("images_per_second")
        if isinstance(rate, int | float):
            family.add_metric([str(job_id)], float(rate))
    return family


def generated_images(session: Session) -> CounterMetricFamily:
    """Images written by generate and translate jobs, however they ended (finished shards stay downloadable)."""
    made = func.coalesce(Job.metrics["images"].as_integer(), Job.progress["images_done"].as_integer(), 0)
    totals = dict(session.execute(select(Job.type, func.sum(made)).where(Job.type.in_(IMAGE_JOB_TYPES))
                                  .group_by(Job.type)).all())
    family = CounterMetricFamily("catgan_generated_images", "Images generate and translate jobs have written.",
                                 labels=["type"])
    for job_type in IMAGE_JOB_TYPES:
        family.add_metric([job_type], float(totals.get(job_type) or 0))
    return family


def artifact_totals(session: Session) -> list[GaugeMetricFamily]:
    """Stored artifact bytes and files, by kind."""
    nbytes = GaugeMetricFamily("catgan_artifact_bytes", "Bytes of stored job artifacts, by kind.", labels=["kind"])
    files = GaugeMetricFamily("catgan_artifacts", "Stored job artifacts, by kind.", labels=["kind"])
    for kind, count, total in session.execute(
            select(Artifact.kind, func.count(), func.coalesce(func.sum(Artifact.size), 0)).group_by(Artifact.kind)):
        nbytes.add_metric([kind], float(total))
        files.add_metric([kind], float(count))
    return [nbytes, files]


def queue_names(celery: Celery) -> list[str]:
    """The queues the app declares (core.queue): every one a worker may consume."""
    return sorted(queue.name for queue in celery.conf.task_queues or ())


def queue_depths(celery: Celery, queues: Sequence[str], timeout: float) -> dict[str, int]:
    """Messages waiting on each queue: the lengths of its Redis lists (one per priority step), in one pipeline."""
    with celery.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        channel: Any = conn.default_channel
        names = {queue: list(_priority_lists(channel, queue)) for queue in queues}
        with channel.client.pipeline() as pipe:
            for lists in names.values():
                for name in lists:
                    pipe.llen(name)
            lengths = iter(pipe.execute())
    return {queue: sum(int(next(lengths)) for _ in lists) for queue, lists in names.items()}


def _priority_lists(channel: Any, queue: str) -> Iterable[str]:
    """The Redis lists kombu keeps a queue in: the queue's name for priority 0, `name<sep><step>` for the others."""
    for step in channel.priority_steps:
        yield f"{queue}{channel.sep}{step}" if step else queue
