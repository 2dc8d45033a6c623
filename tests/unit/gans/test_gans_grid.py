"""Image grids and PNG encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gans.grid import encode_png, image_grid


def test_square_grid_of_64() -> None:
    images = np.random.default_rng(0).integers(0, 256, (64, 8, 6, 3), dtype=np.uint8)
    grid = image_grid(images)
    assert grid.shape == (64, 48, 3)
    np.testing.assert_array_equal(grid[8:16, 6:12], images[9])  # row 1, column 1


def test_uneven_count_pads_with_black() -> None:
    images = np.full((5, 4, 4, 3), 200, dtype=np.uint8)
    grid = image_grid(images)
    assert grid.shape == (8, 12, 3)  # 3 columns, 2 rows
    assert (grid[4:, 8:] == 0).all() and (grid[4:, :8] == 200).all()
    assert image_grid(images, columns=5).shape == (4, 20, 3)


def test_encode_png_round_trips() -> None:
    image = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(image))))
    np.testing.assert_array_equal(decoded, image)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        image_grid(np.zeros((0, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 3), np.float32))
