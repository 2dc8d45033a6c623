"""Contact sheets of generated batches, in NumPy (gans.grid's needs TensorFlow, which a worker drawing from
TF Serving never loads); they are encoded like every other image, by worker.encoding."""

from __future__ import annotations

import math

import numpy as np


def contact_sheet(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Tile (N, H, W, C) images into one (rows*H, columns*W, C) image, square-ish."""
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    sheet = np.zeros((rows * h, columns * w, c), dtype=images.dtype)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        sheet[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
    return sheet
