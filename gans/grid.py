"""Sample sheets: many small images tiled into one picture, enlarged for a person to look at.

TensorFlow is imported only to encode: a worker drawing from TF Serving tiles and enlarges sheets
without loading it.
"""

from __future__ import annotations

import math

import numpy as np

VIEWING_WIDTH = 512  # px: a 4x4 sheet of 32 px cats is 128 px wide, a smudge on a screen


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


def upscale_for_viewing(sheet: np.ndarray, min_width: int = VIEWING_WIDTH) -> np.ndarray:
    """Enlarge a sheet (H, W) or (H, W, C) by the smallest whole factor that makes it min_width wide or more.

    Nearest neighbour, so each pixel becomes a crisp factor x factor block: a person sees what the
    model drew, not an interpolation of it. A sheet already that wide is returned as it is.
    """
    image = np.asarray(sheet)
    if image.ndim not in (2, 3) or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty (H, W) or (H, W, C) image, got shape {image.shape}")
    if min_width < 1:
        raise ValueError(f"min_width must be >= 1, got {min_width}")
    factor = -(-min_width // image.shape[1])  # ceil
    if factor <= 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def encode_png(image_uint8: np.ndarray) -> bytes:
    """Encode one (H, W, C) uint8 image as PNG bytes."""
    image = np.asarray(image_uint8)
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"expected (H, W, C) uint8, got {image.dtype} {image.shape}")
    import tensorflow as tf  # here, not at the top: see the module's docstring

    return tf.io.encode_png(image).numpy()
