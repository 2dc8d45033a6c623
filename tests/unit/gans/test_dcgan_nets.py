"""Generator and discriminator shapes, sizes and the discriminator's layer plan."""

from __future__ import annotations

import numpy as np
import pytest

from gans.configs.dcgan import DCGANConfig, resolve_profile
from gans.nets.dcgan import build_discriminator, build_generator, discriminator_plan


def classic(**fields: object) -> DCGANConfig:
    """The classic profile's config with these fields, resolved (the nets take resolved configs)."""
    return resolve_profile(DCGANConfig(profile="classic", **fields), has_gpu=False)


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_output_shapes(image_size: int) -> None:
    config = classic(image_size=image_size, g_filters=64, d_filters=8, kernel_size=4)
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = np.random.default_rng(0).normal(size=(2, config.z_dim)).astype("float32")
    images = generator(z, training=False).numpy()
    assert images.shape == (2, image_size, image_size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert discriminator(images, training=False).shape == (2, 1)


def test_narrow_cpu_generator_size() -> None:
    config = classic(image_size=64, g_filters=128, d_filters=32, kernel_size=4)
    assert 1_000_000 <= build_generator(config).count_params() <= 1_300_000  # the Dense dominates
    assert 500_000 <= build_discriminator(config).count_params() <= 1_000_000


def test_discriminator_plan_is_the_recipe_at_128_and_shrinks_by_stage() -> None:
    assert discriminator_plan(128, 64) == [(64, 2), (128, 2), (256, 2), (512, 1), (1024, 2)]
    assert discriminator_plan(64, 64) == [(64, 2), (128, 2), (256, 1), (512, 2)]
    assert discriminator_plan(32, 32) == [(32, 2), (64, 1), (128, 2)]


def test_generator_is_the_recipe_8x8_map_halving_to_a_stride_1_rgb_layer() -> None:
    generator = build_generator(classic(image_size=128))
    shapes = [tuple(layer.output.shape[1:]) for layer in generator.layers
              if layer.name in {"project", "up1", "up2", "up3", "up4", "to_rgb"}]
    assert shapes == [(8 * 8 * 1024,), (16, 16, 512), (32, 32, 256), (64, 64, 128), (128, 128, 64), (128, 128, 3)]
    at_64 = build_generator(classic(image_size=64))
    assert [tuple(layer.output.shape[1:]) for layer in at_64.layers if layer.name.startswith("up")
            and not layer.name.endswith("bn")] == [(16, 16, 512), (32, 32, 256), (64, 64, 128)]  # one stage fewer


def test_weights_start_normal_with_stddev_002() -> None:
    generator = build_generator(classic(image_size=32, g_filters=64))
    kernel = generator.get_layer("up1").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002
