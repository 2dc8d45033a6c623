"""The DCGAN as a ModelSpec: CatDCGAN on image folders, z → RGB images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gans.config import DCGANConfig
from gans.data import count_images, image_folder_dataset, list_images, load_image
from gans.export import export_generator, to_uint8
from gans.grid import image_grid
from gans.models import DCGAN
from gans.spec import ModelSpec

SAMPLE_COUNT = 64  # an 8x8 sheet


def build(config: DCGANConfig) -> DCGAN:
    """The DCGAN with the recipe's two Adam optimizers; weights seeded by config.seed."""
    keras.utils.set_random_seed(config.seed)
    model = DCGAN(config)
    model.compile(d_optimizer=keras.optimizers.Adam(config.lr_d, beta_1=config.beta1),
                  g_optimizer=keras.optimizers.Adam(config.lr_g, beta_1=config.beta1))
    return model


def count_examples(config: DCGANConfig, data_dir: Path) -> int:
    """Images in the folder; fewer than a batch is an error the user can fix."""
    count = count_images(data_dir)
    if count < config.batch_size:
        raise ValueError(f"dataset has {count} images, fewer than batch_size {config.batch_size}")
    return count


def epoch_dataset(config: DCGANConfig, data_dir: Path, epoch: int) -> tf.data.Dataset:
    """Batches of epoch `epoch`, in an order fixed by (seed, epoch)."""
    return image_folder_dataset(data_dir, config.image_size, config.batch_size, config.seed, epoch=epoch)


def fixed_latents(config: DCGANConfig, count: int, stream: int) -> tf.Tensor:
    """Latents that depend only on the seed: every sheet shows the same cats. # (count, z_dim)"""
    return tf.random.stateless_normal((count, config.z_dim), seed=[config.seed, stream])


def sample_inputs(config: DCGANConfig, _data_dir: Path) -> tf.Tensor:
    return fixed_latents(config, SAMPLE_COUNT, 7)


def sample_sheet(model: DCGAN, z: tf.Tensor) -> np.ndarray:
    """An 8x8 sheet from the sampler (the EMA generator when kept), inference mode."""
    return image_grid(to_uint8(model.sampler(z, training=False)).numpy())


def real_images(data_dir: Path, image_size: int, count: int, channels: int = 3) -> np.ndarray:
    """`count` dataset images (evenly spread over the sorted files) as the model sees them, uint8."""
    paths = list_images(data_dir)
    picks = [paths[i] for i in np.linspace(0, len(paths) - 1, min(count, len(paths))).astype(int)]
    return np.stack([to_uint8(load_image(tf.constant(p), image_size, channels)).numpy() for p in picks])


def quality_images(model: DCGAN, config: DCGANConfig, data_dir: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Real images vs samples from fixed latents, for the sliced Wasserstein distance."""
    real = real_images(data_dir, config.image_size, count)
    fake = to_uint8(model.sampler(fixed_latents(config, len(real), 11), training=False)).numpy()
    return real, fake


def export(model: DCGAN, config: DCGANConfig, export_dir: Path, metadata: dict[str, Any]) -> None:
    export_generator(model.sampler, export_dir, config.z_dim, metadata={"model": "dcgan", **metadata})


SPEC = ModelSpec(name="dcgan", config_type=DCGANConfig, build=build, count_examples=count_examples,
                 epoch_dataset=epoch_dataset, sample_inputs=sample_inputs, sample_sheet=sample_sheet,
                 quality_images=quality_images, export=export)
