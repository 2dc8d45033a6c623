"""The bulk jobs' PNG encoder (fpng, bench/encoders.py chose it) gives back the very pixels it was handed, in every
channel layout a model emits, and its encoder pool is sized to the cores the model leaves."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from worker.encoding import ImageFormat, encode_image, encode_workers, usable_cores


def _smooth(size: int, channels: int, seed: int) -> np.ndarray:
    """A generator-like image: a smooth gradient with noise on top, every value 0..255 reachable."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    base = (ramp[:, None, None] + ramp[None, :, None]) / 2 + rng.normal(0, 24, (size, size, channels))
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 4, 1])
@pytest.mark.parametrize("size", [16, 64, 256])
def test_png_round_trips_to_identical_pixels(size: int, channels: int) -> None:
    for image in (_smooth(size, channels, size), np.random.default_rng(channels).integers(
            0, 256, (size, size, channels), dtype=np.uint8)):
        data = encode_image(image, ImageFormat("png"))
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == "PNG" and decoded.mode == {1: "L", 3: "RGB", 4: "RGBA"}[channels]
        back = np.asarray(decoded)
        assert np.array_equal(back.reshape(image.shape), image)
        assert data == encode_image(image.copy(), ImageFormat("png"))  # the same pixels, the same bytes


def test_a_non_contiguous_view_encodes_as_its_copy() -> None:
    image = _smooth(64, 3, 1)
    view = image[::-1, :, :]  # what a flipped or sliced batch may hand over
    assert encode_image(view, ImageFormat("png")) == encode_image(np.ascontiguousarray(view), ImageFormat("png"))


def test_encoders_take_the_cores_the_forward_pass_leaves() -> None:
    cores = usable_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert encode_workers(forward_cores=0) == cores  # the model runs elsewhere (TF Serving)
    assert encode_workers(forward_cores=1) == max(1, cores - 1)  # a GPU's feeding thread
    assert encode_workers(forward_cores=cores) == 1  # TF's CPU pool on every core: encode inline


def test_the_forward_pass_keeps_no_core_under_tfserving_and_every_core_on_this_cpu() -> None:
    from core.settings import Settings
    from worker.pipelines.generate import forward_cores

    assert forward_cores(Settings(generator_backend="tfserving")) == 0  # and loads no TensorFlow for it
    import tensorflow as tf

    expected = 1 if tf.config.list_logical_devices("GPU") else usable_cores()
    assert forward_cores(Settings(generator_backend="local")) == expected
