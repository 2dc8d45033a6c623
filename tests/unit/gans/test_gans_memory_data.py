"""Decode once: a folder kept in memory yields the very batches the streaming path does, epoch by epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gans.common import folder_batches
from gans.data import image_folder_dataset
from gans.memory_data import _SCOPE, decode_once, epoch_batches
from gans.configs.dcgan import DCGANConfig
from gans.train import TrainingHooks, train_dcgan
from tests.unit.gans.conftest import write_images


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """13 tiny images of mixed sizes, one of them a corrupt file."""
    folder = tmp_path / "tiny"
    write_images(folder, 8, size=12, seed=1)
    write_images(folder / "wide", 4, size=20, seed=2)
    (folder / "img_broken.png").write_bytes(b"not a png at all")
    return folder


def _arrays(dataset) -> list[np.ndarray]:
    return [batch.numpy() for batch in dataset]


@pytest.mark.parametrize("channels", [3, 1])
def test_memory_and_streaming_yield_identical_batches(tiny_folder: Path, channels: int) -> None:
    for epoch in range(4):
        streamed = _arrays(folder_batches(tiny_folder, 8, channels, 3, seed=4, epoch=epoch))
        with decode_once():
            remembered = _arrays(folder_batches(tiny_folder, 8, channels, 3, seed=4, epoch=epoch))
            assert _SCOPE.get().folders  # decoded into memory, not streamed
        assert len(streamed) == len(remembered) == 4  # 12 decodable images, the corrupt one skipped
        for a, b in zip(streamed, remembered, strict=True):
            assert a.shape == (3, 8, 8, channels) and a.dtype == np.float32
            np.testing.assert_array_equal(a, b)


def test_a_folder_is_decoded_once_per_run_and_epochs_differ(tiny_folder: Path) -> None:
    with decode_once():
        first = _arrays(epoch_batches(tiny_folder, 8, 4, seed=0, epoch=0))
        decoded = next(iter(_SCOPE.get().folders.values()))
        second = _arrays(epoch_batches(tiny_folder, 8, 4, seed=0, epoch=1))
        assert next(iter(_SCOPE.get().folders.values())) is decoded  # the same copy, not a second decode
    assert int((decoded.rows < 0).sum()) == 1 and decoded.images.shape == (12, 8, 8, 3)
    assert not np.array_equal(first[0], second[0])
    assert sorted(np.concatenate(first).reshape(12, -1).sum(1)) == pytest.approx(
        sorted(np.concatenate(second).reshape(12, -1).sum(1)))  # the same images, another order
    assert _SCOPE.get() is None


def test_a_folder_over_the_limit_streams(tiny_folder: Path) -> None:
    with decode_once(limit_bytes=12 * 8 * 8 * 3):  # one byte short of the 13 files' pixels
        streamed = _arrays(epoch_batches(tiny_folder, 8, 4, seed=0, epoch=2))
        assert list(_SCOPE.get().folders.values()) == [None]
    expected = _arrays(image_folder_dataset(tiny_folder, 8, 4, 0, epoch=2))
    for a, b in zip(streamed, expected, strict=True):
        np.testing.assert_array_equal(a, b)


class StopAfter(TrainingHooks):
    def __init__(self, steps: int | None = None) -> None:
        self.steps, self.seen = steps, 0

    def on_progress(self, progress) -> None:
        self.seen += 1

    def should_stop(self) -> bool:
        return self.steps is not None and self.seen >= self.steps


def test_resumed_from_memory_mid_epoch_matches_a_streamed_run(image_dir: Path, tmp_path: Path) -> None:
    """A run streamed from disk and one decoded once, stopped mid-epoch and resumed, end bit for bit alike."""
    (image_dir / "img_broken.png").write_bytes(b"corrupt")
    config = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3, sample_every_steps=4,
                         seed=3, diffaugment=True, ema_decay=0.9)
    from gans.dcgan import SPEC
    from gans.train import train_gan

    streamed = train_gan(SPEC, config, image_dir, tmp_path / "streamed", StopAfter(), memory_limit_bytes=0)
    stopped = train_dcgan(config, image_dir, tmp_path / "memory", StopAfter(3))
    assert (stopped.stopped, stopped.step) == (True, 3)  # mid-epoch 2
    resumed = train_dcgan(config, image_dir, tmp_path / "memory", StopAfter())
    assert resumed.step == streamed.step == 6
    assert resumed.metrics["g_loss"] == streamed.metrics["g_loss"]
    for a, b in zip(streamed.model.generator.get_weights() + streamed.model.discriminator.get_weights(),
                    resumed.model.generator.get_weights() + resumed.model.discriminator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_real_sets_of_guard_and_quality_are_decoded_once_per_run(tiny_folder: Path) -> None:
    from gans.common import real_images

    outside = real_images(tiny_folder, 8, 3, 16, seed=0)
    with decode_once():
        first = real_images(tiny_folder, 8, 3, 16, seed=0)
        assert real_images(tiny_folder, 8, 3, 16, seed=0) is first  # every sheet after the first: no decoding
        assert real_images(tiny_folder, 8, 3, 5, seed=0) is not first
    np.testing.assert_array_equal(outside, first)
    assert first.shape == (12, 8, 8, 3) and not first.flags.writeable
