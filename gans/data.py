"""Image folders as tf.data pipelines of (B, S, S, 3) float32 batches in [-1, 1]."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from gans.errors import DatasetError
from gans.holdout import IMAGE_EXTENSIONS, split_folder
from gans.holdout import list_image_files as list_images

__all__ = ["IMAGE_EXTENSIONS", "count_images", "epoch_order", "held_out_images", "image_folder_dataset",
           "list_images", "load_image", "load_image_uint8", "to_unit_range", "training_images", "training_paths"]


def training_images(directory: str | Path) -> list[str]:
    """Return the image files trained on: all of them but the held-out split (gans.holdout), sorted."""
    return list(split_folder(directory).train)


def held_out_images(directory: str | Path) -> list[str]:
    """Return the held-out image files (never trained on; empty for small folders), sorted."""
    return list(split_folder(directory).held_out)


def count_images(directory: str | Path) -> int:
    """Return how many files image_folder_dataset would read (a listing and hashes, no decoding)."""
    return len(training_images(directory))


def load_image(path: tf.Tensor, image_size: int, channels: int = 3) -> tf.Tensor:
    """Read one file into (S, S, channels) float32 in [-1, 1], centre-cropped to a square."""
    image = resized_image(path, image_size, channels)  # float32 in [0, 255]
    image = tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)
    image.set_shape((image_size, image_size, channels))
    return image


def resized_image(path: tf.Tensor, image_size: int, channels: int = 3) -> tf.Tensor:
    """Read one file into (S, S, channels) float32 in [0, 255], centre-cropped to a square and resized."""
    # Always decode RGB: BMP and GIF decoders refuse channels=1, and every format then greys the same way.
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)  # (H, W, 3) uint8
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)  # (H, W, 1)
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2,
                                          side, side)  # (side, side, C)
    # Antialiased bilinear is area-like when shrinking and plain bilinear when enlarging.
    return tf.image.resize(image, (image_size, image_size), antialias=True)  # float32


def load_image_uint8(path: tf.Tensor, image_size: int, channels: int = 3) -> tf.Tensor:
    """Read one file into (S, S, channels) uint8, centre-cropped and resized, rounded to nearest.

    What training reads: rounded once to 8 bits, so a folder decoded once into memory (gans.memory_data)
    and one streamed from disk yield the very same batches.
    """
    image = tf.cast(tf.clip_by_value(tf.round(resized_image(path, image_size, channels)), 0.0, 255.0), tf.uint8)
    image.set_shape((image_size, image_size, channels))
    return image


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """Map uint8 images (..., C) to float32 in [-1, 1], the range the nets train on."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def epoch_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """Return the file order of 0-based `epoch`: a permutation of range(count) fixed by (seed, epoch)."""
    # NumPy's generator, not TensorFlow's: the order must not depend on TF's global seed.
    return np.random.default_rng([seed, epoch]).permutation(count)


def image_folder_dataset(directory: str | Path, image_size: int, batch_size: int, seed: int,
                         channels: int = 3, *, epoch: int | None = None) -> tf.data.Dataset:
    """Return shuffled, batched training images from a folder (never the held-out split), decoded as they
    stream from disk; a file that fails to decode is skipped.

    Args:
        epoch: None reshuffles on every pass over the dataset (deterministic given seed). An int
            fixes the order to that epoch's permutation of (seed, epoch), so a run resumed in
            the middle of epoch k can re-create exactly the batches it would have seen.

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: the folder holds no image files.
    """
    paths = training_paths(directory)
    if epoch is None:
        files = tf.data.Dataset.from_tensor_slices(paths).shuffle(
            len(paths), seed=seed, reshuffle_each_iteration=True)
    else:
        files = tf.data.Dataset.from_tensor_slices([paths[i] for i in epoch_order(len(paths), seed, epoch)])
    images = files.map(lambda p: load_image_uint8(p, image_size, channels),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    images = images.ignore_errors()  # one corrupt file must not kill a day-long training run
    batches = images.batch(batch_size, drop_remainder=True).map(to_unit_range)
    return batches.prefetch(tf.data.AUTOTUNE)


def training_paths(directory: str | Path) -> list[str]:
    """Return training_images(directory); DatasetError when there are none."""
    paths = training_images(directory)
    if not paths:
        raise DatasetError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {directory}")
    return paths
