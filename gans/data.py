"""Image folders as tf.data pipelines of (B, S, S, 3) float32 batches in [-1, 1]."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from gans.errors import DatasetError

# What tf.io.decode_image can read; other files (webp, tiff, text...) are not listed at all.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp"})


def list_images(directory: str | Path) -> list[str]:
    """Return the decodable image files under directory, recursively, in sorted order."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    paths = []
    for parent, _dirs, files in os.walk(root):
        paths += [os.path.join(parent, f) for f in files
                  if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS and not f.startswith(".")]
    return sorted(paths)  # sorted: the shuffle, not the file system, decides the order


def count_images(directory: str | Path) -> int:
    """Return how many files image_folder_dataset would read (a listing, no decoding)."""
    return len(list_images(directory))


def load_image(path: tf.Tensor, image_size: int, channels: int = 3) -> tf.Tensor:
    """Read one file into (S, S, channels) float32 in [-1, 1], centre-cropped to a square."""
    # Always decode RGB: BMP and GIF decoders refuse channels=1, and every format then greys the same way.
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)  # (H, W, 3) uint8
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)  # (H, W, 1)
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2,
                                          side, side)  # (side, side, C)
    # Antialiased bilinear is area-like when shrinking and plain bilinear when enlarging.
    image = tf.image.resize(image, (image_size, image_size), antialias=True)  # float32
    image = tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)
    image.set_shape((image_size, image_size, channels))
    return image


def image_folder_dataset(directory: str | Path, image_size: int, batch_size: int, seed: int,
                         channels: int = 3, *, epoch: int | None = None) -> tf.data.Dataset:
    """Return shuffled, batched images from a folder; a file that fails to decode is skipped.

    Args:
        epoch: None reshuffles on every pass over the dataset (deterministic given seed). An int
            fixes the order to that epoch's permutation of (seed, epoch), so a run resumed in
            the middle of epoch k can re-create exactly the batches it would have seen.

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: the folder holds no image files.
    """
    paths = list_images(directory)
    if not paths:
        raise DatasetError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {directory}")
    if epoch is None:
        files = tf.data.Dataset.from_tensor_slices(paths).shuffle(
            len(paths), seed=seed, reshuffle_each_iteration=True)
    else:
        # NumPy's generator, not TensorFlow's: the order must not depend on TF's global seed.
        order = np.random.default_rng([seed, epoch]).permutation(len(paths))
        files = tf.data.Dataset.from_tensor_slices([paths[i] for i in order])
    images = files.map(lambda p: load_image(p, image_size, channels),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    images = images.ignore_errors()  # one corrupt file must not kill a day-long training run
    return images.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
