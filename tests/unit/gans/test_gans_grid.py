"""Image grids and PNG encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gans.grid import encode_png, image_grid, upscale_for_viewing


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


def test_upscale_for_viewing_uses_the_smallest_whole_factor_with_crisp_blocks() -> None:
    sheet = np.random.default_rng(2).integers(0, 256, (96, 128, 3), dtype=np.uint8)  # a 4x3 sheet of 32 px cats
    big = upscale_for_viewing(sheet)
    assert big.shape == (384, 512, 3) and big.dtype == np.uint8  # x4: 512 / 128
    blocks = big.reshape(96, 4, 128, 4, 3)  # every source pixel is a 4x4 block of itself
    assert (blocks == sheet[:, None, :, None, :]).all()
    assert upscale_for_viewing(sheet[:, :100]).shape == (576, 600, 3)  # x6: x5 would be 500 < 512
    assert upscale_for_viewing(sheet[:, :, 0], min_width=300).shape == (288, 384)  # grey, x3


def test_upscale_for_viewing_leaves_wide_sheets_alone() -> None:
    sheet = np.zeros((256, 768, 3), dtype=np.uint8)  # pix2pix: 3 columns of 256
    assert upscale_for_viewing(sheet) is sheet
    with pytest.raises(ValueError, match="non-empty"):
        upscale_for_viewing(np.zeros((4, 0, 3), dtype=np.uint8))
