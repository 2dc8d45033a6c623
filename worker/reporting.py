"""Report a running job to the database: throttled progress, checkpoints, sample grids, cancel checks."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from typing import Any

from core.db import session_scope
from core.services import artifacts, jobs
from worker.context import WorkerContext

log = logging.getLogger(__name__)


class Throttle:
    """True at most once per `interval` seconds (and the first time)."""

    def __init__(self, interval: float) -> None:
        self.interval, self.last = interval, float("-inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False


class JobReporter:
    """What every pipeline tells the database while it runs."""

    def __init__(self, ctx: WorkerContext, job_id: int) -> None:
        self.ctx, self.job_id = ctx, job_id
        self._progress = Throttle(ctx.settings.progress_interval_seconds)
        self._cancel = Throttle(ctx.settings.cancel_poll_seconds)
        self._cancelled = False

    def progress(self, progress: dict[str, Any], *, force: bool = False, metrics: dict[str, Any] | None = None) -> None:
        """Write progress if the interval has passed (or `force`)."""
        if force or self._progress.ready():
            with session_scope(self.ctx.sessions) as session:
                jobs.record_progress(session=session, job_id=self.job_id, progress=progress, metrics=metrics)

    def cancel_requested(self) -> bool:
        """Poll the job's cancel flag, at most once per poll interval."""
        if not self._cancelled and self._cancel.ready():
            with session_scope(self.ctx.sessions) as session:
                self._cancelled = jobs.is_cancel_requested(session=session, job_id=self.job_id)
        return self._cancelled

    def artifact(self, *, kind: str, name: str, data: bytes, content_type: str,
                 info: dict[str, Any] | None = None) -> None:
        with session_scope(self.ctx.sessions) as session:
            artifacts.add_artifact_bytes(session=session, settings=self.ctx.settings, job_id=self.job_id, kind=kind,
                                         name=name, data=data, content_type=content_type, info=info)


class TrainingReporter(JobReporter):
    """gans.train's TrainingHooks, backed by the job's row."""

    def on_progress(self, progress: Any) -> None:
        data = asdict(progress)
        self.progress(data, force=data["step"] >= data["total_steps"])

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float]) -> None:
        assert self.ctx.settings.checkpoint_dir is not None
        relative = os.path.relpath(path, self.ctx.settings.checkpoint_dir)
        with session_scope(self.ctx.sessions) as session:
            artifacts.add_checkpoint(session=session, job_id=self.job_id, step=step, epoch=epoch, path=relative,
                                     metrics=_finite(metrics))

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.artifact(kind="sample_grid", name=f"samples-step{step:07d}.png", data=png, content_type="image/png",
                      info={"step": step})

    def should_stop(self) -> bool:
        return self.cancel_requested()


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: store non-finite numbers as null."""
    return {k: (float(v) if v == v and abs(v) != float("inf") else None) for k, v in metrics.items()}
