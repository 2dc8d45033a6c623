"""gunicorn's hooks for the API: `gunicorn -c python:catgan.gunicorn_conf ... catgan.wsgi:app` (the Dockerfile's CMD).

- Metrics: each server process keeps its HTTP latencies in prometheus_client's multiprocess directory and a
  scrape adds them all up. The directory is PROMETHEUS_MULTIPROC_DIR, or a fresh temporary one when that is
  unset (exported here, so the workers forked from this master use it); it is emptied at start, and a worker
  that exits is marked dead.
- Logs: gunicorn's own error and access logs in CATGAN_LOG_FORMAT too, the access line with its X-Request-ID.
- Live events: an SSE stream holds its request thread for as long as a client watches, so a sync worker would
  be one watcher's alone. Workers are gthread (gevent is not pinned) with CATGAN_EVENTS_MAX_STREAMS threads
  for streams plus REQUEST_THREADS that streams can never take (past that many streams the API answers 503
  `too_many_streams`), so watchers, however slow, never starve the rest of the API.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from core.logs import make_formatter
from core.settings import Settings

_settings = Settings()
REQUEST_THREADS = 8  # per process, always free for ordinary requests
worker_class = "gthread"
threads = _settings.events_max_streams + REQUEST_THREADS
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


def _metrics_dir() -> Path:
    """The multiprocess directory; made up (and exported for the workers) when none was configured."""
    if _settings.prometheus_multiproc_dir is not None:
        return _settings.prometheus_multiproc_dir
    path = Path(tempfile.mkdtemp(prefix="catgan-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # prometheus_client reads it when a worker imports it
    return path


METRICS_DIR = _metrics_dir()


def on_starting(_server: Any) -> None:
    """Start from an empty metrics directory: an earlier run's files would count as this run's requests."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()
    _check_threads(_server)


def _check_threads(server: Any) -> None:
    """Warn when the command line gave fewer threads than event streams may take (they would starve requests)."""
    cfg = server.cfg
    if cfg.worker_class_str != "gthread" or cfg.threads <= _settings.events_max_streams:
        server.log.warning("workers are %s with %d thread(s), but up to CATGAN_EVENTS_MAX_STREAMS=%d event streams "
                           "each hold one: run gthread with at least %d threads (this file's default)",
                           cfg.worker_class_str, cfg.threads, _settings.events_max_streams,
                           _settings.events_max_streams + REQUEST_THREADS)


def child_exit(_server: Any, worker: Any) -> None:
    """Tell prometheus_client a worker is gone (its live gauges go; its counts stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(METRICS_DIR))


class CatganLogger(Logger):
    """gunicorn's logger, formatting its lines the way the application formats its own."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(make_formatter(_settings, getattr(handler, "stream", sys.stderr)))


logger_class = CatganLogger
