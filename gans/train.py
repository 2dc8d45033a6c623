"""The training driver: data, model, checkpoints and resume; side effects go through hooks.

A custom loop around the model's train_step (not model.fit): it has to stop and resume at any
step boundary, mid-epoch included, and replay exactly the batches and random draws an
uninterrupted run would have seen, which fit's epoch-granular initial_epoch cannot do.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import keras
import tensorflow as tf

from gans.config import DCGANConfig
from gans.data import count_images, image_folder_dataset
from gans.export import to_uint8
from gans.grid import encode_png, image_grid
from gans.models import DCGAN

log = logging.getLogger(__name__)

SAMPLE_COUNT = 64  # latents in the fixed sample sheet: an 8x8 grid
RATE_WINDOW = 20  # steps over which images/s is averaged
CONFIG_FILE = "config.json"  # written beside the checkpoints, nanoGPT-style
# Fields that shape the weights: a checkpoint cannot be resumed under different values.
ARCHITECTURE_FIELDS = ("image_size", "z_dim", "g_filters", "d_filters", "kernel_size")


@dataclass(frozen=True)
class Progress:
    """One step's report to the hooks."""

    epoch: int  # 1-based epoch currently running / just finished
    step: int  # optimizer steps done overall (continues across resume)
    total_steps: int
    g_loss: float
    d_loss: float
    images_per_second: float
    eta_seconds: float | None  # None until the speed is known (after the first, tracing step)


class TrainingHooks(Protocol):
    """What the caller (the worker) sees of a run; all called from the training thread."""

    def on_progress(self, progress: Progress) -> None:
        """Receive a report after every step; the caller throttles."""

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float]) -> None:
        """Learn that a checkpoint was saved at path."""

    def on_sample_grid(self, png: bytes, step: int) -> None:
        """Receive a PNG sheet generated from a fixed latent batch."""

    def should_stop(self) -> bool:
        """Return True to stop (with a checkpoint) at this step boundary."""


@dataclass
class TrainResult:
    """How a run ended, and the model to export."""

    stopped: bool  # True when should_stop() ended it early
    step: int
    epoch: int
    metrics: dict[str, float]  # last g_loss, d_loss, images_per_second
    model: DCGAN


def build_dcgan(config: DCGANConfig) -> DCGAN:
    """Build the DCGAN compiled with the recipe's two Adam optimizers."""
    model = DCGAN(config)
    model.compile(d_optimizer=keras.optimizers.Adam(config.lr_d, beta_1=config.beta1),
                  g_optimizer=keras.optimizers.Adam(config.lr_g, beta_1=config.beta1))
    return model


def steps_per_epoch(data_dir: str | Path, batch_size: int) -> int:
    """Return the number of full batches in data_dir; raise ValueError if there is none."""
    count = count_images(data_dir)
    if count < batch_size:
        raise ValueError(f"dataset has {count} images, fewer than batch_size {batch_size}")
    return count // batch_size


def total_steps(config: DCGANConfig, epoch_steps: int) -> int:
    """Return the run's target step: epochs worth of steps, capped by max_steps."""
    total = config.epochs * epoch_steps
    return total if config.max_steps is None else min(total, config.max_steps)


def train_dcgan(config: DCGANConfig, data_dir: str | Path, checkpoint_dir: str | Path,
                hooks: TrainingHooks, *, max_checkpoints: int = 3) -> TrainResult:
    """Train (or resume training) a DCGAN on an image folder until its target step.

    If checkpoint_dir holds a checkpoint, training continues from it towards the same target,
    total_steps = min(epochs * steps_per_epoch, max_steps); it does not add that many more.

    Raises:
        ValueError: bad config, too few images, or a checkpoint of a different architecture.
    """
    config.validate()
    trainer = _Trainer(config, data_dir, Path(checkpoint_dir), hooks, max_checkpoints)
    return trainer.run()


class _RateMeter:
    """Images per second over the last steps, leaving out the first (tracing) step."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.start = time.perf_counter()
        self.marks: collections.deque[float] = collections.deque(maxlen=RATE_WINDOW + 1)

    def tick(self) -> float:
        """Record a finished step and return the current images/s."""
        self.marks.append(time.perf_counter())
        if len(self.marks) < 2:  # only the tracing step so far: time it from the start
            return self.batch_size / max(self.marks[-1] - self.start, 1e-9)
        return self._rate()

    def eta(self, steps_left: int) -> float | None:
        """Return the seconds to go, or None while only the tracing step was timed."""
        return None if len(self.marks) < 2 else steps_left * self.batch_size / self._rate()

    def _rate(self) -> float:
        """Return the images/s over the window of recorded steps."""
        elapsed = self.marks[-1] - self.marks[0]
        return self.batch_size * (len(self.marks) - 1) / max(elapsed, 1e-9)


class _Trainer:
    """One call of train_dcgan: owns the model, its checkpoint and the loop."""

    def __init__(self, config: DCGANConfig, data_dir: str | Path, checkpoint_dir: Path,
                 hooks: TrainingHooks, max_checkpoints: int):
        self.config, self.data_dir, self.hooks = config, data_dir, hooks
        self.epoch_steps = steps_per_epoch(data_dir, config.batch_size)
        self.total = total_steps(config, self.epoch_steps)
        keras.utils.set_random_seed(config.seed)  # weight init; the model's rng does the rest
        self.model = build_dcgan(config)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.losses = tf.Variable([math.nan, math.nan], trainable=False)  # last (g, d) loss
        self.checkpoint = tf.train.Checkpoint(**self._trackables())
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir),
                                                  max_to_keep=max_checkpoints)
        _check_config_file(checkpoint_dir, config, resuming=bool(self.manager.latest_checkpoint))
        self.train_step = tf.function(self.model.train_step, jit_compile=config.jit_compile)
        # Fixed latents, independent of the model's rng, so every sheet shows the same cats.
        self.sample_z = tf.random.stateless_normal((SAMPLE_COUNT, config.z_dim),
                                                   seed=[config.seed, 7])
        self.saved_step = self.sampled_step = -1
        self.deadline: float | None = None
        self.images_per_second = 0.0

    def _trackables(self) -> dict[str, object]:
        """Return everything a checkpoint holds, so a resumed run replays the same steps."""
        m = self.model
        objects = dict(generator=m.generator, discriminator=m.discriminator,
                       g_optimizer=m.g_optimizer, d_optimizer=m.d_optimizer, step=self.step,
                       epoch=self.epoch, rng=m.rng, losses=self.losses)
        if m.ema_generator is not None:
            objects["ema_generator"] = m.ema_generator
        return objects

    def run(self) -> TrainResult:
        """Restore if possible, train to the target step or a stop request, and report."""
        self._restore()
        step = int(self.step)
        meter = _RateMeter(self.config.batch_size)
        self.deadline = None if self.config.max_seconds is None else time.monotonic() + self.config.max_seconds
        while step < self.total:
            epoch_index, offset = divmod(step, self.epoch_steps)
            for batch in self._batches(epoch_index, offset, self.total - step):
                if self.hooks.should_stop():
                    return self._finish(stopped=True)
                if self._out_of_time():
                    return self._finish(stopped=False)
                step = self._train_one(batch, meter)
            if step == offset + epoch_index * self.epoch_steps:
                raise ValueError(f"fewer than batch_size {self.config.batch_size} images in "
                                 f"{self.data_dir} could be decoded")
            epoch_done = step % self.epoch_steps == 0
            if epoch_done and (step // self.epoch_steps) % self.config.checkpoint_every_epochs == 0:
                self._save()
        return self._finish(stopped=False)

    def _out_of_time(self) -> bool:
        """Whether the run's wall-clock budget (max_seconds) is spent."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _expected_total(self, step: int, meter: _RateMeter) -> int:
        """The step the run will end at: the target, or sooner when the time budget runs out first."""
        if self.deadline is None or len(meter.marks) < 2:
            return self.total
        steps_left = (self.deadline - time.monotonic()) * meter._rate() / self.config.batch_size
        return max(step, min(self.total, step + int(steps_left)))

    def _restore(self) -> None:
        """Load the latest checkpoint in the directory, if there is one."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            self.saved_step = int(self.step)
            log.info("resumed from %s at step %d of %d", latest, self.saved_step, self.total)

    def _batches(self, epoch_index: int, offset: int, limit: int) -> Iterator[tf.Tensor]:
        """Yield the batches of 0-based epoch_index from batch offset on, at most limit."""
        dataset = image_folder_dataset(self.data_dir, self.config.image_size,
                                       self.config.batch_size, self.config.seed, epoch=epoch_index)
        # repeat(): corrupt files make an epoch short; refill it from the same order so that
        # epochs and steps stay aligned (an empty dataset ends repeat() instead of looping).
        dataset = dataset.repeat().take(self.epoch_steps).skip(offset).take(limit)
        return iter(dataset)

    def _train_one(self, batch: tf.Tensor, meter: _RateMeter) -> int:
        """Run one optimizer step, report it, sample when due; return the new step count."""
        losses = self.train_step(batch)
        g_loss, d_loss = float(losses["g_loss"]), float(losses["d_loss"])
        step = int(self.step.assign_add(1))
        self.losses.assign([g_loss, d_loss])
        self.epoch.assign((step - 1) // self.epoch_steps + 1)
        self.images_per_second = meter.tick()
        expected = self._expected_total(step, meter)
        self.hooks.on_progress(Progress(
            epoch=int(self.epoch), step=step, total_steps=expected, g_loss=g_loss,
            d_loss=d_loss, images_per_second=self.images_per_second,
            eta_seconds=meter.eta(expected - step)))
        if step % self.config.sample_every_steps == 0:
            self._sample()
        return step

    def _metrics(self) -> dict[str, float]:
        """Return the last losses and speed, as the hooks and the result report them."""
        g_loss, d_loss = (float(v) for v in self.losses.numpy())
        return {"g_loss": g_loss, "d_loss": d_loss, "images_per_second": self.images_per_second}

    def _save(self) -> None:
        """Save a checkpoint numbered by step (once per step) and tell the hooks."""
        step = int(self.step)
        if step == self.saved_step:
            return
        path = self.manager.save(checkpoint_number=step)
        self.saved_step = step
        self.hooks.on_checkpoint(path, step, int(self.epoch), self._metrics())

    def _sample(self) -> None:
        """Send the hooks a PNG sheet of the sampler's images for the fixed latents."""
        step = int(self.step)
        images = to_uint8(self.model.sampler(self.sample_z, training=False)).numpy()
        self.hooks.on_sample_grid(encode_png(image_grid(images)), step)
        self.sampled_step = step

    def _finish(self, stopped: bool) -> TrainResult:
        """Save (a cancelled run keeps its progress), sample once more, and build the result."""
        self._save()
        if not stopped and self.sampled_step != int(self.step):
            self._sample()
        return TrainResult(stopped=stopped, step=int(self.step), epoch=int(self.epoch),
                           metrics=self._metrics(), model=self.model)


def _check_config_file(checkpoint_dir: Path, config: DCGANConfig, *, resuming: bool) -> None:
    """Write config.json beside the checkpoints; refuse to resume another architecture."""
    path = checkpoint_dir / CONFIG_FILE
    if resuming and path.exists():
        saved = json.loads(path.read_text())
        for name in (*ARCHITECTURE_FIELDS, "ema_decay"):
            old, new = saved.get(name), getattr(config, name)
            if old != new and not (name == "ema_decay" and (old is None) == (new is None)):
                raise ValueError(f"{checkpoint_dir} holds a checkpoint with {name}={old!r}, "
                                 f"cannot resume it with {name}={new!r}")
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
