"""The training driver for every model: data, checkpoints, exact resume, samples, guard, quality; side
effects go through hooks.

A custom loop around the model's train_step (not model.fit): it has to stop and resume at any step
boundary, mid-epoch included, and replay exactly the batches and random draws an uninterrupted run
would have seen, which fit's epoch-granular initial_epoch cannot do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from gans.budget import (LearningRates, budget_seconds, lr_factor, make_plan, ready_to_plan, recorded_choices, replan,
                         run_config)
from gans.checkpoints import (
    checkpoint_step,
    config_difference,
    read_best_score,
    read_digest,
    restore_first_intact,
    run_checkpoints,
    save_with_digest,
    write_best_score,
    write_config,
)
from gans.chunks import StepRunner, chunk_size
from gans.configs.dcgan import DCGANConfig
from gans.data import held_out_images
from gans.errors import ConfigError, DatasetError
from gans.grid import encode_png, upscale_for_viewing
from gans.guard import DivergenceGuard, TrainingDiverged
from gans.hooks import Progress, TrainingHooks, TrainResult
from gans.memory_data import MEMORY_LIMIT_BYTES, decode_once
from gans.metrics.swd import swd_summary
from gans.replicas import build_on_replicas, compiled_step, training_strategy
from gans.runlog import RunLog
from gans.spec import ModelSpec
from gans.timing import RateMeter

__all__ = ["Progress", "TrainResult", "TrainingHooks", "train_dcgan", "train_gan"]

log = logging.getLogger(__name__)

BEST_DIR = "best"  # the best checkpoint by the sliced Wasserstein distance, kept apart from the last K
GUARD_SAMPLES = 16  # fixed-latent samples checked for mode collapse at every sheet (their real set: decoded once)
UNBOUNDED = 10**15  # the step target of a max_minutes run before its plan (epochs do not bound it)


def train_gan(spec: ModelSpec, config: Any, data_dir: str | Path, checkpoint_dir: str | Path,
              hooks: TrainingHooks, *, init_from: str | None = None,
              inception_weights: str | None = None, memory_limit_bytes: int = MEMORY_LIMIT_BYTES,
              devices: Sequence[str] | None = None) -> TrainResult:
    """Train (or resume) `spec`'s model on `data_dir` until its target step.

    If checkpoint_dir holds a checkpoint, training continues from it towards the same target; else,
    with `init_from` (a checkpoint prefix of another run of the same architecture), it starts there.
    With `inception_weights` (a Keras InceptionV3 no-top weights file), the end of the run also reports
    FID and KID; without, they are reported as unavailable, never estimated some other way. A folder whose
    training images take at most `memory_limit_bytes` as uint8 is decoded once per run (gans.memory_data).
    A model whose spec says `replicas` trains mirrored over `devices` (default: every GPU this process sees)
    when there are two or more, each global batch split evenly between them (gans.replicas).

    Raises:
        ConfigError: bad config, a batch that does not split over the devices, or a checkpoint of another
            architecture.
        DatasetError: too little (decodable) data.
        CheckpointError: checkpoints exist (or `init_from` was given) but none of them is intact.
        TrainingDiverged: NaN/inf losses, a stuck discriminator or mode collapse with on_divergence="fail".
    """
    config.validate()
    trainer = _Trainer(spec, config, Path(data_dir), Path(checkpoint_dir), hooks, init_from, devices)
    trainer.inception_weights = inception_weights
    with decode_once(memory_limit_bytes):
        return trainer.run(init_from)


def train_dcgan(config: DCGANConfig, data_dir: str | Path, checkpoint_dir: str | Path,
                hooks: TrainingHooks) -> TrainResult:
    """Train the DCGAN (see train_gan)."""
    from gans.dcgan import SPEC

    return train_gan(SPEC, config, data_dir, checkpoint_dir, hooks)


class _Trainer:
    """One call of train_gan: owns the model, its checkpoints, its log and the loop."""

    def __init__(self, spec: ModelSpec, config: Any, data_dir: Path, checkpoint_dir: Path,
                 hooks: TrainingHooks, init_from: str | None = None, devices: Sequence[str] | None = None) -> None:
        config = run_config(spec, config, checkpoint_dir, init_from)
        self.spec, self.config, self.data_dir, self.hooks = spec, config, data_dir, hooks
        self.epoch_steps = spec.count_examples(config, data_dir) // config.batch_size
        self.total = UNBOUNDED if config.max_minutes is not None else config.epochs * self.epoch_steps
        if config.max_steps is not None:
            self.total = min(self.total, config.max_steps)
        self.cap = self.total  # what bounds a plan: max_steps, else nothing
        self.plan_mark: tuple[float, int] | None = None  # (elapsed, step) of this start's last plan: it may re-plan
        if config.planned_steps is not None:
            self.total = min(self.total, config.planned_steps)
        self.strategy = training_strategy(devices) if spec.replicas else None
        self.model = build_on_replicas(spec.build, config, self.strategy)
        self.rates = LearningRates(self.model.trackables())  # as built: a restore may bring back decayed ones
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.losses = tf.Variable([math.nan, math.nan], trainable=False)  # last (g, d) loss
        inputs = spec.sample_inputs(config, data_dir)
        # The fixed sample inputs live in the checkpoint too, so every sheet of a resumed run matches.
        self.sample_vars = [tf.Variable(x, trainable=False) for x in tf.nest.flatten(inputs)]
        self.sample_structure = inputs
        self.checkpoint = tf.train.Checkpoint(**self.model.trackables(), step=self.step, epoch=self.epoch,
                                              losses=self.losses, samples=self.sample_vars)
        self.checkpoint_dir = checkpoint_dir
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir),
                                                  max_to_keep=config.keep_checkpoints)
        self.best = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir / BEST_DIR), max_to_keep=1)
        self.rejected: set[str] = set()  # checkpoints of this run found damaged on restore
        # Models whose config declares no steps_per_call train one step per call.
        self.steps_per_call = getattr(config, "steps_per_call", 1)
        step, jit_compile = compiled_step(self.model, self.strategy, config.jit_compile)
        self.runner = StepRunner(step, [opt for opt, _ in self.rates.base], self.steps_per_call, jit_compile)
        self.guard, self.warned = DivergenceGuard(), set()
        self.saved_step = self.sampled_step = -1
        self.writable = True  # until the hooks say the run's files are no longer ours to write
        self.best_swd = math.inf
        self.quality: dict[str, float] = {}
        self.inception: dict[str, float | str] = {}
        self.inception_weights: str | None = None
        self.meter = RateMeter(config.batch_size, budget_seconds(config) or config.max_seconds)
        self.floor: dict[str, float] | None = None  # the real-vs-real figures, measured once

    @property
    def sample_inputs(self) -> Any:
        return tf.nest.pack_sequence_as(self.sample_structure, [v.read_value() for v in self.sample_vars])

    def run(self, init_from: str | None) -> TrainResult:
        """Restore if possible, train to the target step, a stop request or the time budget; report."""
        self._restore(init_from)
        write_config(self.checkpoint_dir, self.config)
        self.runlog = RunLog(self.checkpoint_dir, int(self.step))
        step = int(self.step)
        try:
            while step < self.total:
                epoch_index = step // self.epoch_steps
                batches = self._batches(epoch_index, step % self.epoch_steps, self.total - step)
                while step < min((epoch_index + 1) * self.epoch_steps, self.total):  # the plan may end it early
                    if self.hooks.should_stop():
                        return self._finish(stopped=True)
                    if self.meter.out_of_time():
                        return self._finish(stopped=False)
                    end = min((epoch_index + 1) * self.epoch_steps, self.total, self._next_damaged_step(step))
                    step = self._train_chunk(batches, end)
                    if step in map(checkpoint_step, self.rejected):
                        self._save()  # an intact checkpoint where the damaged one was (the resume is exact)
                if step % self.epoch_steps == 0:
                    self._end_of_epoch(step // self.epoch_steps)
            return self._finish(stopped=False)
        except TrainingDiverged:
            raise  # the state is bad: the last good checkpoint stays the newest
        except Exception:
            self._save_on_failure()
            raise
        finally:
            if not self.writable:
                self.runlog.pending.clear()  # the history file is another process's now
            self.runlog.close()

    def _save_on_failure(self) -> None:
        """Checkpoint the progress a failed run made, so a new job can resume_from it."""
        try:
            self._save()
        except Exception:  # noqa: BLE001 - the original error is the one to report
            log.exception("could not save a checkpoint after the failure")

    def _restore(self, init_from: str | None) -> None:
        """Load this run's newest intact checkpoint (falling back to older ones), else `init_from`, if any."""
        own = run_checkpoints(self.manager)
        if own:
            advice = (f"Put back intact copies of these files, or move {self.checkpoint_dir} aside to train "
                      "this run again from scratch; then resume it.")
        else:
            advice = "Start from another checkpoint, or from scratch."
        candidates = own or ([init_from] if init_from else [])
        if not candidates:
            return
        source, skipped = restore_first_intact(candidates, self._restore_from, advice)
        self.saved_step = int(self.step)
        if own:  # the best so far stays the one to beat (and to keep), not whatever is measured next
            best = read_best_score(self.best.latest_checkpoint)
            self.best_swd = math.inf if best is None else best
        if own:  # report it again: a worker killed between saving and reporting never did
            self.hooks.on_checkpoint(source, self.saved_step, int(self.epoch), self._metrics(),
                                     digest=read_digest(source))
        if skipped:
            self.rejected = {prefix for prefix, _ in skipped}
            damaged = "; ".join(f"{Path(prefix).name} ({reason})" for prefix, reason in skipped)
            self.hooks.on_warning(f"resumed from {Path(source).name} at step {self.saved_step} because newer "
                                  f"checkpoints could not be restored: {damaged}; the steps after it are "
                                  "trained again")
            self.hooks.on_checkpoints_kept(self._kept(), self.best.latest_checkpoint)
        log.info("resumed from %s at step %d of %d", source, self.saved_step, self.total)

    def _restore_from(self, source: str) -> None:
        """Restore every existing object from `source`; ConfigError if the checkpoint is another model's."""
        try:
            self.checkpoint.restore(source).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as exc:
            raise ConfigError(f"checkpoint {source} does not fit this run: "
                              f"{config_difference(Path(source).parent, self.config) or exc}") from exc

    def _batches(self, epoch_index: int, offset: int, limit: int) -> Any:
        """The batches of 0-based epoch_index from batch `offset` on, at most `limit`."""
        dataset = self.spec.epoch_dataset(self.config, self.data_dir, epoch_index)
        # repeat(): corrupt files make an epoch short; refill it from the same order so that epochs and
        # steps stay aligned (an empty dataset ends repeat() instead of looping).
        return iter(dataset.repeat().take(self.epoch_steps).skip(offset).take(limit))

    def _train_chunk(self, batches: Any, end: int) -> int:
        """Train up to steps_per_call steps in one call (never past `end` or a sheet); return the new step count."""
        start = int(self.step)
        k = chunk_size(start, end, self.steps_per_call, self.config.sample_every_steps)
        try:
            chunk = self.runner.run(batches, k, self._chunk_rates(start, k))
        except tf.errors.OutOfRangeError:  # not one example of the epoch decoded
            raise DatasetError(f"fewer than batch_size {self.config.batch_size} examples in "
                               f"{self.data_dir} could be decoded") from None
        step = start + k
        # The state is at `step` now: a failure while reporting the chunk checkpoints this, consistently.
        self.step.assign(step)
        self.epoch.assign((step - 1) // self.epoch_steps + 1)
        self.losses.assign([chunk["g_loss"][-1], chunk["d_loss"][-1]])
        rate = self.meter.tick(k)
        for index in range(k):
            self._report(start + index + 1, {name: float(values[index]) for name, values in chunk.items()}, rate,
                         last=index == k - 1)
        if step % self.config.sample_every_steps == 0:
            self._sample()
        return step

    def _chunk_rates(self, start: int, k: int) -> np.ndarray | None:
        """Under max_minutes, each optimizer's rate for steps start+1..start+k (k, optimizers); else None."""
        if self.config.max_minutes is None:
            return None
        return np.array([[rate * lr_factor(step, self.config) for _, rate in self.rates.base]
                         for step in range(start + 1, start + k + 1)], dtype=np.float32)

    def _report(self, step: int, losses: dict[str, float], rate: float, last: bool) -> None:
        """What the host does for each step, in step order: guard, plan (at a chunk's end), log, report."""
        self._guard(self.guard.check_losses(step, losses))
        if last:  # a plan made here covers whole chunks: no chunk ran with rates it would change
            self._plan(step)
        self.runlog.record(step, losses)
        expected = self.meter.expected_total(step, self.total)
        self.hooks.on_progress(Progress(
            epoch=(step - 1) // self.epoch_steps + 1, step=step, total_steps=expected, g_loss=losses["g_loss"],
            d_loss=losses["d_loss"], images_per_second=rate, eta_seconds=self.meter.eta(expected - step)))

    def _plan(self, step: int) -> None:
        """Under max_minutes, once warmed up: fix the steps that fit the budget and record them in config.json."""
        if not ready_to_plan(self.config, self.meter.timed_steps(), self.meter.elapsed(),
                             self.epoch_steps):
            return
        self.config = make_plan(self.config, step, self.meter.elapsed(), self.meter.seconds_per_step(), self.total)
        self.total, self.plan_mark = self.config.planned_steps, (self.meter.elapsed(), step)
        log.info("planned %d steps to fit max_minutes=%s (from step %d)", self.total, self.config.max_minutes, step)
        if self._may_save():
            write_config(self.checkpoint_dir, self.config)

    def _replan(self, step: int) -> None:
        """At an epoch end of the start that made the plan: move its end if the pace since the last plan (sheets
        and checkpoints included) says the budget holds other than planned (gans.budget.replan)."""
        if self.plan_mark is None or step - self.plan_mark[1] < self.epoch_steps:
            return
        elapsed = self.meter.elapsed()
        pace = (elapsed - self.plan_mark[0]) / (step - self.plan_mark[1])
        moved = replan(self.config, step, elapsed, pace, self.cap)
        if moved is self.config:
            return
        log.info("re-planned to %d steps (from %d, at step %d, %.2f s a step)", moved.planned_steps, self.total,
                 step, pace)
        self.config, self.total, self.plan_mark = moved, moved.planned_steps, (elapsed, step)
        if self._may_save():
            write_config(self.checkpoint_dir, self.config)

    def _guard(self, problem: str | None) -> None:
        """Stop the run or warn (once per kind of problem), as the config says."""
        if problem is None:
            return
        if self.config.on_divergence == "fail":
            raise TrainingDiverged(problem + "; the last good checkpoint is kept")
        kind = problem.split(" at step")[0].split(" for ")[0]
        if kind not in self.warned:
            self.warned.add(kind)
            self.hooks.on_warning(problem)

    def _end_of_epoch(self, epoch: int) -> None:
        self._replan(epoch * self.epoch_steps)  # before the checkpoint: config.json then holds the plan it ran under
        if self.config.swd_every_epochs and epoch % self.config.swd_every_epochs == 0:
            self._measure_quality()
        if epoch % self.config.checkpoint_every_epochs == 0:
            self._save()

    def _metrics(self) -> dict[str, float]:
        """The last losses, speed and quality, as the hooks and the result report them."""
        g_loss, d_loss = (float(v) for v in self.losses.numpy())
        replicas = {} if self.strategy is None else {"replicas": self.strategy.num_replicas_in_sync}
        return {"g_loss": g_loss, "d_loss": d_loss, "images_per_second": self.meter.rate(), **self.quality,
                **self.inception, **recorded_choices(self.config), **replicas}

    def _may_save(self) -> bool:
        """Whether the hooks still let this run write its files (once they say no, never again)."""
        self.writable = self.writable and self.hooks.may_save()
        return self.writable

    def _save(self) -> None:
        """Save a checkpoint numbered by step (once per step), prune to the last K, tell the hooks."""
        step = int(self.step)
        if step == self.saved_step or not self._may_save():
            return
        self.runlog.flush()
        path, digest = save_with_digest(self.manager, step)
        self.saved_step = step
        self.rejected.discard(path)  # a damaged checkpoint of this step was just overwritten
        self.hooks.on_checkpoint(path, step, int(self.epoch), self._metrics(), digest=digest)
        self.hooks.on_checkpoints_kept(self._kept(), self.best.latest_checkpoint)

    def _next_damaged_step(self, step: int) -> int:
        """The first step after `step` whose checkpoint was found damaged on restore and is not yet written again
        (a chunk stops there to write it), else total."""
        return min((s for s in map(checkpoint_step, self.rejected) if s is not None and s > step), default=self.total)

    def _kept(self) -> list[str]:
        """The manager's checkpoints, less those found damaged (the manager prunes them in turn)."""
        return [p for p in self.manager.checkpoints if p not in self.rejected]

    def _sample(self) -> None:
        """Send the hooks (and TensorBoard) the sheet of the fixed inputs; check for mode collapse."""
        step = int(self.step)
        sheet = self.spec.sample_sheet(self.model, self.sample_inputs)
        self.hooks.on_sample_grid(encode_png(upscale_for_viewing(sheet)), step)  # the sheet a person opens
        self.runlog.image(step, "samples", sheet)
        self.sampled_step = step
        _, generated = self.spec.quality_images(self.model, self.config, self.data_dir, GUARD_SAMPLES)
        self._guard(self.guard.check_samples(step, generated))

    def _measure_quality(self, final: bool = False) -> None:
        """Sliced Wasserstein distance of generated vs real images; keep the best checkpoint by it."""
        step = int(self.step)
        real, generated = self.spec.quality_images(self.model, self.config, self.data_dir,
                                                   self.config.quality_samples)
        if final:
            self._measure_inception(real, generated)
        self.quality = {k: round(v, 4) for k, v in swd_summary(real, generated, seed=self.config.seed).items()}
        self.quality |= self._floor_figures(real)
        self.runlog.record(step, self.quality)
        self.hooks.on_quality(step, self.quality)
        if self.quality["swd_mean"] < self.best_swd and self._may_save():
            self.best_swd = self.quality["swd_mean"]
            prefix, _ = save_with_digest(self.best, step)
            write_best_score(prefix, self.best_swd)
            self.hooks.on_checkpoints_kept(self._kept(), self.best.latest_checkpoint)

    def _floor_figures(self, real: Any) -> dict[str, float]:
        """swd_floor (training vs held-out images, as many as `real`) and swd_ratio, when there is a held-out split."""
        if self.floor is None:
            self.floor = {}
            held = held_out_images(self.data_dir) if self.spec.training_images is not None else []
            if held:
                trained = self.spec.training_images(self.config, self.data_dir, len(real))
                floor = swd_summary(trained, real, seed=self.config.seed)["swd_mean"]
                self.floor = {"swd_floor": round(floor, 4), "holdout_images": len(held)}
        if not self.floor:
            return {}
        return self.floor | {"swd_ratio": round(self.quality["swd_mean"] / max(self.floor["swd_floor"], 1e-9), 4)}

    def _measure_inception(self, real: Any, generated: Any) -> None:
        """FID/KID when Inception weights are configured, else the reason they are unavailable."""
        from gans.metrics.fid import inception_metrics

        found = inception_metrics(real, generated, self.inception_weights, seed=self.config.seed)
        self.inception = {("fid_note" if k == "reason" else k): v for k, v in found.items()}

    def _finish(self, stopped: bool) -> TrainResult:
        """Measure quality (a finished run), save (a cancelled run keeps its progress), sample, report."""
        if not stopped:
            if self.sampled_step != int(self.step):
                self._sample()
            self._measure_quality(final=True)
        self._save()
        if self._may_save():
            self.hooks.on_run_files(self.runlog.loss_curve_png(), str(self.runlog.tensorboard_dir))
        return TrainResult(stopped=stopped, step=int(self.step), epoch=int(self.epoch),
                           metrics=self._metrics(), model=self.model, config=self.config)

