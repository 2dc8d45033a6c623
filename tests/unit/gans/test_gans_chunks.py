"""K steps per compiled call: the same run bit for bit whatever K, boundaries where they were, exact resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from gans.chunks import StepRunner, chunk_size
from gans.configs.dcgan import DCGANConfig, resolve_profile
from gans.dcgan import build, epoch_dataset
from gans.train import Progress, TrainingHooks, train_dcgan

# 20 images / batch 8 = 2 steps per epoch... too short for chunks: 40 images = 5 steps per epoch, 3 epochs.
CHUNKED = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3, sample_every_steps=4,
                      seed=7, diffaugment=True, ema_decay=0.9, steps_per_call=3)


class Recording(TrainingHooks):
    """Record progress, checkpoints and sheets; ask to stop once stop_after steps were reported."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.progress: list[Progress] = []
        self.checkpoints: list[int] = []
        self.sheets: list[int] = []

    def on_progress(self, progress: Progress) -> None:
        self.progress.append(progress)

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.checkpoints.append(step)

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.sheets.append(step)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.progress) >= self.stop_after


@pytest.fixture
def forty(tmp_path: Path) -> Path:
    from tests.unit.gans.conftest import write_images

    write_images(tmp_path / "forty", 40)
    return tmp_path / "forty"


def _weights(model) -> list[np.ndarray]:
    return [w for net in (model.generator, model.discriminator, model.ema_generator) for w in net.get_weights()]


def test_a_chunk_never_crosses_a_sheet_or_an_end() -> None:
    assert chunk_size(0, 5, 3, 4) == 3
    assert chunk_size(3, 5, 3, 4) == 1  # the sheet at step 4
    assert chunk_size(4, 5, 3, 4) == 1  # the epoch's end at 5
    assert chunk_size(5, 10, 8, 100) == 5 and chunk_size(5, 10, 1, 100) == 1


def test_k_steps_per_call_are_the_steps_one_call_each_runs(forty: Path) -> None:
    """Losses and weights bit for bit equal to one eager-driven call per step, per-step rates included."""
    config = resolve_profile(dataclasses.replace(CHUNKED, steps_per_call=1), has_gpu=False)
    rates = np.linspace(2e-4, 1e-5, 7, dtype=np.float32)

    one = build(config)
    step = tf.function(one.train_step)
    batches = iter(epoch_dataset(config, forty, 0).repeat())
    expected = []
    for rate in rates:
        one.d_optimizer.learning_rate, one.g_optimizer.learning_rate = float(rate), float(rate)
        expected.append(float(step(next(batches))["g_loss"]))

    chunked = build(config)
    runner = StepRunner(chunked.train_step, [chunked.d_optimizer, chunked.g_optimizer], steps_per_call=4)
    batches = iter(epoch_dataset(config, forty, 0).repeat())
    found = [runner.run(batches, 4, np.stack([rates[:4]] * 2, axis=1))["g_loss"],
             runner.run(batches, 3, np.stack([rates[4:]] * 2, axis=1))["g_loss"]]
    assert np.concatenate(found).tolist() == expected
    for a, b in zip(_weights(one), _weights(chunked), strict=True):
        np.testing.assert_array_equal(a, b)
    assert runner._chunk.experimental_get_tracing_count() == 1  # k is a tensor: one trace for every chunk size

    plain = build(config)  # steps_per_call 1: the plain compiled step, the same numbers
    runner = StepRunner(plain.train_step, [plain.d_optimizer, plain.g_optimizer], steps_per_call=1)
    batches = iter(epoch_dataset(config, forty, 0).repeat())
    assert [float(runner.run(batches, 1, np.array([[rate, rate]]))["g_loss"][0]) for rate in rates] == expected


def test_chunked_runs_stop_and_resume_bit_for_bit(forty: Path, tmp_path: Path) -> None:
    one_by_one = Recording()
    single = train_dcgan(dataclasses.replace(CHUNKED, steps_per_call=1), forty, tmp_path / "single", one_by_one)

    stopping = Recording(stop_after=2)
    stopped = train_dcgan(CHUNKED, forty, tmp_path / "chunked", stopping)
    assert (stopped.stopped, stopped.step) == (True, 3)  # asked after step 2, honoured between calls
    assert stopping.checkpoints == [3]
    resuming = Recording()
    resumed = train_dcgan(CHUNKED, forty, tmp_path / "chunked", resuming)

    assert [p.step for p in stopping.progress + resuming.progress] == list(range(1, 16))
    assert ([(p.step, p.epoch, p.g_loss, p.d_loss) for p in stopping.progress + resuming.progress]
            == [(p.step, p.epoch, p.g_loss, p.d_loss) for p in one_by_one.progress])
    assert resuming.checkpoints == [3, 5, 10, 15] and one_by_one.checkpoints == [5, 10, 15]
    assert stopping.sheets + resuming.sheets == [4, 8, 12, 15]
    assert one_by_one.sheets == [4, 8, 12, 15]
    assert resumed.metrics["g_loss"] == single.metrics["g_loss"]
    for a, b in zip(_weights(single.model), _weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
