"""Sample sheets: many small images tiled into one picture."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def image_grid(images_uint8: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Tile images (N, H, W, C) into one (rows*H, columns*W, C) image; empty cells stay black.

    columns defaults to ceil(sqrt(N)), the squarest sheet.
    """
    images = np.asarray(images_uint8)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"expected a non-empty batch (N, H, W, C), got shape {images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    sheet = np.zeros((rows * columns, height, width, channels), dtype=images.dtype)
    sheet[:count] = images
    # (rows, columns, H, W, C) -> (rows, H, columns, W, C) -> (rows*H, columns*W, C)
    sheet = sheet.reshape(rows, columns, height, width, channels).transpose(0, 2, 1, 3, 4)
    return sheet.reshape(rows * height, columns * width, channels)


def encode_png(image_uint8: np.ndarray) -> bytes:
    """Encode one (H, W, C) uint8 image as PNG bytes."""
    image = np.asarray(image_uint8)
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"expected (H, W, C) uint8, got {image.dtype} {image.shape}")
    return tf.io.encode_png(image).numpy()
