"""Report a running job to the database: throttled progress, checkpoints, sample grids, cancel checks.

Every write checks, in its own transaction and before it writes a file or a row, that this worker still
holds the job's lease: a worker that stalled past its lease (a paused VM) and wakes writes nothing more.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.db import session_scope
from core.errors import LeaseLost
from core.records import BulkProgress, TrainProgress, to_json
from core.services import artifacts, history, jobs, leases
from gans.checkpoints import read_digest
from gans.train import Progress, TrainingHooks
from worker.context import WorkerContext
from worker.lease import holder_id, lease_lost, mark_lease_lost
from worker.retry import retrying
from worker.shutdown import shutting_down

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def progress(self, progress: TrainProgress | BulkProgress, *, force: bool = False,
                 metrics: dict[str, Any] | None = None, sample: bool = True) -> bool:
        """Write progress if the interval has passed (or `force`); True if written. `sample`: keep it on the curves."""
        if not (force or self._progress.ready()):
            return False
        self.write(lambda session: jobs.record_progress(session=session, job_id=self.job_id, progress=to_json(progress),
                                                        metrics=metrics, sample=sample), "progress")
        return True

    def interrupted(self) -> bool:
        """The job must stop now: cancelled by a user, this worker is shutting down, or it lost the lease."""
        return shutting_down() or lease_lost() or self.cancel_requested()

    def cancel_requested(self) -> bool:
        """Poll the job's cancel flag, at most once per poll interval."""
        if not self._cancelled and self._cancel.ready():
            self._cancelled = self.transact(
                lambda session: jobs.is_cancel_requested(session=session, job_id=self.job_id), "cancel check")
        return self._cancelled

    def transact(self, action: Callable[[Session], T], what: str) -> T:
        """Run `action` in a transaction, retried if the database connection drops."""
        def attempt() -> T:
            with session_scope(self.ctx.sessions) as session:
                return action(session)
        return retrying(attempt, f"job {self.job_id} {what}")

    def write(self, action: Callable[[Session], T], what: str) -> T:
        """Run `action` in a transaction that first checks (and holds) this worker's lease on the job.

        Raises:
            LeaseLost: another worker holds the job now; nothing was written.
        """
        def held(session: Session) -> T:
            leases.require_lease(session=session, job_id=self.job_id, holder=holder_id())
            return action(session)
        if lease_lost():
            raise LeaseLost(f"job {self.job_id} is no longer held by {holder_id()}; not writing its {what}")
        try:
            return self.transact(held, what)
        except LeaseLost:
            mark_lease_lost()
            raise

    def holds_lease(self) -> bool:
        """Renew the lease now (so a file written next has a whole lease to finish in); False if it is lost."""
        if lease_lost():
            return False
        held = self.transact(lambda session: leases.renew_lease(
            session=session, job_id=self.job_id, holder=holder_id(), lease_seconds=self.ctx.settings.lease_seconds),
            "lease check")
        if not held:
            mark_lease_lost()
        return held

    def artifact(self, *, kind: str, name: str, data: bytes, content_type: str,
                 info: dict[str, Any] | None = None) -> None:
        self.write(lambda session: artifacts.add_artifact_bytes(
            session=session, settings=self.ctx.settings, job_id=self.job_id, kind=kind, name=name, data=data,
            content_type=content_type, info=info), f"artifact {name}")


class TrainingReporter(JobReporter, TrainingHooks):
    """gans.train's TrainingHooks, backed by the job's row."""

    def __init__(self, ctx: WorkerContext, job_id: int) -> None:
        super().__init__(ctx, job_id)
        self.quality: dict[str, float] = {}
        self.warnings: list[str] = []
        self._last: TrainProgress | None = None  # the trainer's newest report
        self._written: TrainProgress | None = None  # the newest one written

    def on_progress(self, progress: Progress) -> None:
        """Publish the trainer's report as the job's TrainProgress (the run's last report is always written)."""
        record = TrainProgress(epoch=progress.epoch, step=progress.step, total_steps=progress.total_steps,
                               g_loss=progress.g_loss, d_loss=progress.d_loss,
                               images_per_second=progress.images_per_second, eta_seconds=progress.eta_seconds)
        self._last = record
        if self.progress(record, force=record.step >= record.total_steps):
            self._written = record

    def end_progress(self, *, finished: bool) -> None:
        """Write the run's newest report if the throttle held it back; a finished run's bar is full (a time
        budget may end it before the step it expected)."""
        last = self._last
        if last is None or lease_lost():
            return  # nothing reported, or no longer this worker's to write
        if finished:
            last = dataclasses.replace(last, total_steps=last.step, eta_seconds=0.0)
        if last != self._written:
            written_step = self._written.step if self._written else None
            self.progress(last, force=True, sample=last.step != written_step)
            self._written = last

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.write(lambda session: artifacts.add_checkpoint(
            session=session, job_id=self.job_id, step=step, epoch=epoch, path=self._relative(path),
            metrics=finite(metrics), digest=digest), f"checkpoint at step {step}")

    def on_checkpoints_kept(self, kept: list[str], best: str | None) -> None:
        """Mark which recorded checkpoints are still on disk, and the best one."""
        best_digest = read_digest(best) if best else None
        self.write(lambda session: artifacts.mark_checkpoints(
            session=session, job_id=self.job_id, kept=[self._relative(p) for p in kept],
            best=self._relative(best) if best else None, best_digest=best_digest), "checkpoint retention")

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.artifact(kind="sample_grid", name=f"samples-step{step:07d}.png", data=png, content_type="image/png",
                      info={"step": step})

    def on_quality(self, step: int, metrics: dict[str, float]) -> None:
        self.quality = dict(metrics) | {"swd_step": step}
        self.write(lambda session: history.record_quality(session=session, job_id=self.job_id, step=step,
                                                          swd=metrics.get("swd_mean")), "quality")

    def on_warning(self, message: str) -> None:
        """Keep the run going, but flag the job (its `warnings` and metrics say what was seen)."""
        log.warning("job %s: %s", self.job_id, message)
        self.warnings.append(message)
        self.write(lambda session: jobs.add_warning(session=session, job_id=self.job_id, message=message),
                   "warning")

    def on_run_files(self, loss_curve_png: bytes, tensorboard_dir: str) -> None:
        self.artifact(kind="loss_curve", name="loss-curve.png", data=loss_curve_png, content_type="image/png")
        for events in sorted(Path(tensorboard_dir).rglob("events.out.tfevents.*")):
            self.artifact(kind="tensorboard", name=f"tensorboard-{events.name}", data=events.read_bytes(),
                          content_type="application/octet-stream", info={"file": events.name})

    def should_stop(self) -> bool:
        return self.interrupted()

    def may_save(self) -> bool:
        """Checkpoints and run files are this worker's to write only while it holds the job's lease."""
        return self.holds_lease()

    def final_metrics(self, result: Any) -> dict[str, Any]:
        """What the job row keeps: last losses, speed, quality, counters, warnings flag."""
        metrics: dict[str, Any] = finite(result.metrics) | finite(self.quality)
        metrics |= {"steps": result.step, "epochs": result.epoch, "warned": bool(self.warnings)}
        return metrics

    def _relative(self, path: str) -> str:
        assert self.ctx.settings.checkpoint_dir is not None
        return os.path.relpath(path, self.ctx.settings.checkpoint_dir)


def finite(metrics: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: store non-finite numbers as null, round the rest."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float):
            out[key] = round(value, 6) if math.isfinite(value) else None
        else:
            out[key] = value
    return out
