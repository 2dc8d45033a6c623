"""What a training run tells its caller (gans.train's hooks), and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One step's report to the hooks."""

    epoch: int  # 1-based epoch currently running / just finished
    step: int  # optimizer steps done overall (continues across resume)
    total_steps: int  # where the run will end (sooner than the target when max_seconds runs out)
    g_loss: float
    d_loss: float
    images_per_second: float
    eta_seconds: float | None  # None until the speed is known (after the first, tracing step)


class TrainingHooks:
    """What the caller (the worker) sees of a run; all called from the training thread. No-ops here."""

    def on_progress(self, progress: Progress) -> None:
        """A report for every step, in order (those of one compiled call come together); the caller throttles."""

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        """A checkpoint was saved at `path` (a prefix: `<dir>/ckpt-<step>`) with this sha256 of its files
        (also in `<path>.sha256`). Reported again for the checkpoint a run resumes from, so it may repeat."""

    def on_checkpoints_kept(self, kept: list[str], best: str | None) -> None:
        """The checkpoints still usable (on disk, not found damaged) after pruning, and the best one if measured."""

    def on_sample_grid(self, png: bytes, step: int) -> None:
        """A PNG sheet from the fixed sample inputs."""

    def on_quality(self, step: int, metrics: dict[str, float]) -> None:
        """The sliced Wasserstein distance (and per-level figures) measured at `step`."""

    def on_warning(self, message: str) -> None:
        """Something the run went on past: divergence or collapse with `on_divergence` "warn", or newer
        checkpoints skipped as damaged on resume."""

    def on_run_files(self, loss_curve_png: bytes, tensorboard_dir: str) -> None:
        """The loss curve and the TensorBoard event folder, at the end of a run (stopped or not)."""

    def should_stop(self) -> bool:
        """True stops the run (with a checkpoint) here: asked between compiled calls, so every steps_per_call
        steps at most (gans.chunks)."""
        return False

    def may_save(self) -> bool:
        """Asked before every checkpoint and the run files; False once they are no longer the caller's to write
        (another process took the run over): from then on nothing is saved."""
        return True


@dataclass
class TrainResult:
    """How a run ended, and the model to export."""

    stopped: bool  # True when should_stop() ended it early
    step: int
    epoch: int
    metrics: dict[str, Any]  # last losses, images_per_second, swd_* when measured, profile, planned_steps
    model: Any
    config: Any = None  # the config as trained: the profile applied, the plan made (what config.json holds)
