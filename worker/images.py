"""Image encoding and contact sheets for generated batches (Pillow, deterministic bytes)."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of one uint8 (H, W, C) image; the same pixels always give the same bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


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
