"""Spec helpers the models share: image-folder data, fixed latents, sample sheets, quality sets."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans.data import count_images, held_out_images, load_image, training_images
from gans.errors import DatasetError
from gans.export import to_uint8
from gans.grid import image_grid
from gans.memory_data import epoch_batches, remembered

SHEET_SIZE = 64  # fixed latents of the sample sheet: an 8x8 grid
SHEET_STREAM, QUALITY_STREAM = 7, 11  # second halves of the stateless seeds, one per use
GENERATE_BATCH = 256  # latents per generator call when drawing quality sets


def has_gpu() -> bool:
    """Tell whether this process's TensorFlow sees a GPU (what a profile "auto" picks by)."""
    return bool(tf.config.list_physical_devices("GPU"))


def check_batch_fits(count: int, batch_size: int, data_dir: str | Path) -> int:
    """Return count; raise DatasetError when the data holds fewer than one batch of examples."""
    if count == 0:
        raise DatasetError(f"no image files in {data_dir}")
    if count < batch_size:
        raise DatasetError(f"dataset has {count} images, fewer than batch_size {batch_size}")
    return count


def count_folder_images(data_dir: str | Path, batch_size: int) -> int:
    """Return the images in data_dir, one example each; DatasetError if they do not fill a batch."""
    return check_batch_fits(count_images(data_dir), batch_size, data_dir)


def grey(images: tf.Tensor) -> tf.Tensor:
    """Convert RGB (..., 3) in [-1, 1] to luma (..., 1) in [-1, 1] (ITU-R BT.601 weights)."""
    return tf.clip_by_value(tf.image.rgb_to_grayscale(images), -1.0, 1.0)


def folder_batches(data_dir: str | Path, image_size: int, channels: int, batch_size: int, seed: int,
                   epoch: int) -> tf.data.Dataset:
    """Return epoch's batches (B, S, S, channels) in [-1, 1] of an image folder, RGB or grey.

    Grey is converted here from decoded RGB rather than asked of gans.data (channels=1): TensorFlow
    decodes BMP and GIF only to 3 or 4 channels, and the dataset would silently skip those files. Inside a
    run (gans.memory_data.decode_once) a folder that fits in memory is decoded once, not every epoch.
    """
    dataset = epoch_batches(data_dir, image_size, batch_size, seed, epoch)
    return dataset.map(grey) if channels == 1 else dataset


def real_images(data_dir: str | Path, image_size: int, channels: int, count: int, seed: int) -> np.ndarray:
    """Return up to count uint8 images (N, S, S, channels) to judge samples by: the held-out split's, or the
    training images' when the folder is too small to hold any out (gans.holdout); a fixed sample for seed.
    """
    return decoded_sample(held_out_images(data_dir) or training_images(data_dir), data_dir, image_size, channels,
                          count, seed)


def trained_on_images(data_dir: str | Path, image_size: int, channels: int, count: int, seed: int) -> np.ndarray:
    """Return up to count uint8 training images, a fixed sample: the real-vs-real floor's other set."""
    return decoded_sample(training_images(data_dir), data_dir, image_size, channels, count, seed)


def decoded_sample(paths: list[str], data_dir: str | Path, image_size: int, channels: int, count: int,
                   seed: int) -> np.ndarray:
    """Return up to count uint8 images (N, S, S, channels) of paths, in an order fixed by seed (read-only).

    Files that fail to decode are skipped, as in training. Inside a run (gans.memory_data.decode_once) each
    set is decoded once: the collapse guard asks for one at every sample sheet, the quality figures at
    every measurement.
    """
    if not paths:
        raise DatasetError(f"no image files in {data_dir}")
    key = ("decoded_sample", tuple(paths), image_size, channels, count, seed)
    return remembered(key, lambda: _decode_sample(paths, data_dir, image_size, channels, count, seed))


def _decode_sample(paths: list[str], data_dir: str | Path, image_size: int, channels: int, count: int,
                   seed: int) -> np.ndarray:
    """Decode decoded_sample's images (see there)."""
    order = np.random.default_rng([seed, QUALITY_STREAM]).permutation(len(paths))
    files = tf.data.Dataset.from_tensor_slices([paths[i] for i in order])
    images = files.map(lambda p: load_image(p, image_size), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True).ignore_errors()
    batches = [grey(b) if channels == 1 else b for b in images.take(count).batch(GENERATE_BATCH)]
    if not batches:
        raise DatasetError(f"none of the images in {data_dir} could be decoded")
    found = to_uint8(tf.concat(batches, axis=0)).numpy()
    found.flags.writeable = False  # shared by every caller of the run
    return found


def generated_images(generator: keras.Model, latent_dim: int, count: int, seed: int) -> np.ndarray:
    """Return count uint8 images from fixed latents of seed, in inference mode."""
    z = tf.random.stateless_normal((count, latent_dim), seed=[seed, QUALITY_STREAM])
    parts = [to_uint8(generator(z[i:i + GENERATE_BATCH], training=False))
             for i in range(0, count, GENERATE_BATCH)]
    return tf.concat(parts, axis=0).numpy()


def quality_pair(generator: keras.Model, data_dir: str | Path, image_size: int, channels: int,
                 latent_dim: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (real, generated) uint8 sets of the same size for the sliced Wasserstein distance."""
    real = real_images(data_dir, image_size, channels, count, seed)
    return real, generated_images(generator, latent_dim, len(real), seed)


def sheet_latents(latent_dim: int, seed: int) -> tf.Tensor:
    """Return the sheet's fixed latents (64, latent_dim), independent of the model's rng."""
    return tf.random.stateless_normal((SHEET_SIZE, latent_dim), seed=[seed, SHEET_STREAM])


def latent_sheet(model: keras.Model, z: tf.Tensor) -> np.ndarray:
    """Return the uint8 8x8 sheet (8H, 8W, C) of the model's images for the latents z, inference mode."""
    return image_grid(to_uint8(model(z, training=False)).numpy())
