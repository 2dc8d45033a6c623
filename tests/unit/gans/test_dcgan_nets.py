"""Generator and discriminator shapes, sizes and the discriminator's layer plan."""

from __future__ import annotations

import numpy as np
import pytest

from gans.config import DCGANConfig
from gans.nets.dcgan import build_discriminator, build_generator, discriminator_plan


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_output_shapes(image_size: int) -> None:
    config = DCGANConfig(image_size=image_size, g_filters=64, d_filters=8, kernel_size=4)
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = np.random.default_rng(0).normal(size=(2, config.z_dim)).astype("float32")
    images = generator(z, training=False).numpy()
    assert images.shape == (2, image_size, image_size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert discriminator(images, training=False).shape == (2, 1)


def test_narrow_cpu_generator_has_about_1_1m_parameters() -> None:
    config = DCGANConfig(image_size=64, g_filters=256, d_filters=32, kernel_size=4)
    assert 1_000_000 <= build_generator(config).count_params() <= 1_500_000
    assert 500_000 <= build_discriminator(config).count_params() <= 1_000_000


def test_discriminator_plan_is_the_recipe_at_128_and_shrinks_by_stage() -> None:
    assert discriminator_plan(128, 64) == [(64, 2), (128, 2), (256, 2), (512, 1), (1024, 2)]
    assert discriminator_plan(64, 64) == [(64, 2), (128, 2), (256, 1), (512, 2)]
    assert discriminator_plan(32, 32) == [(32, 2), (64, 1), (128, 2)]


def test_generator_halves_channels_from_a_4x4_map() -> None:
    generator = build_generator(DCGANConfig(image_size=64, g_filters=1024))
    shapes = [layer.output.shape[1:] for layer in generator.layers if "up" in layer.name
              and not layer.name.endswith("bn")]
    assert shapes == [(8, 8, 512), (16, 16, 256), (32, 32, 128)]


def test_weights_start_normal_with_stddev_002() -> None:
    generator = build_generator(DCGANConfig(image_size=32, g_filters=64))
    kernel = generator.get_layer("up1").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002
