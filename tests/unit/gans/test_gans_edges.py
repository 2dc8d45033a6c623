"""Edge sketches of cat photos (the A side of edges2cats pairs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gans.edges import EdgeOptions, edge_sketch

# Real photos, read where they are (never copied into the repo).
PHOTOS = Path(__file__).resolve().parents[4] / "shared" / "data" / "cat-photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"no cat photos at {PHOTOS}")


def real_photos(count: int = 6) -> list[np.ndarray]:
    """Return count real cat photos (H, W, 3) uint8, spread over the folder, at their own size."""
    paths = sorted(PHOTOS.glob("*.jpg"))
    picks = paths[:: max(1, len(paths) // count)][:count]
    return [np.asarray(Image.open(p).convert("RGB")) for p in picks]


def black_fraction(sketch: np.ndarray) -> float:
    return float((sketch[..., 0] == 0).mean())


def smallest_component(mask: np.ndarray) -> int:
    """Return the pixel count of the smallest 8-connected component of mask (H, W) bool."""
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                                connectivity=8)
    return int(stats[1:, cv2.CC_STAT_AREA].min()) if count > 1 else 10**9


@needs_photos
def test_real_photos_become_black_lines_on_white() -> None:
    for photo in real_photos():
        sketch = edge_sketch(photo)
        assert sketch.shape == photo.shape and sketch.dtype == np.uint8
        assert set(np.unique(sketch)) <= {0, 255}
        assert (sketch == sketch[..., :1]).all()  # grey: the three channels agree
        assert 0.005 < black_fraction(sketch) < 0.30  # some lines, mostly white (70-99.5 %)


@needs_photos
@pytest.mark.parametrize("options", [EdgeOptions(), EdgeOptions(thickness=1),
                                     EdgeOptions(min_component_pixels=20, blur_sigma=1.0)])
def test_no_speck_smaller_than_min_component_pixels(options: EdgeOptions) -> None:
    for photo in real_photos(4):
        lines = edge_sketch(photo, options)[..., 0] == 0
        assert smallest_component(lines) >= options.min_component_pixels


@needs_photos
def test_sketch_is_deterministic_and_follows_its_options() -> None:
    photo = real_photos(1)[0]
    first = edge_sketch(photo)
    np.testing.assert_array_equal(first, edge_sketch(photo.copy()))
    thin = edge_sketch(photo, EdgeOptions(thickness=1))
    assert black_fraction(thin) < black_fraction(first)  # dilation thickens lines
    noisy = edge_sketch(photo, EdgeOptions(blur_sigma=0, min_component_pixels=1, thickness=1))
    assert black_fraction(noisy) > black_fraction(thin)  # blur and speck removal clean up


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_gives_blank_sketch(level: int) -> None:
    blank = np.full((48, 64, 3), level, np.uint8)
    np.testing.assert_array_equal(edge_sketch(blank), np.full_like(blank, 255))


def test_black_square_is_outlined_along_its_border() -> None:
    image = np.full((64, 64, 3), 255, np.uint8)
    image[16:48, 20:52] = 0  # rows 16..47, columns 20..51
    lines = edge_sketch(image, EdgeOptions(thickness=1))[..., 0] == 0  # (64, 64)
    inside = np.zeros((64, 64), bool)
    inside[16:48, 20:52] = True
    border = cv2.morphologyEx(inside.astype(np.uint8), cv2.MORPH_GRADIENT,
                              np.ones((3, 3), np.uint8)) > 0  # the 2 px ring on the edge
    near_border = cv2.dilate(border.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert lines.any() and not (lines & ~near_border).any()  # every line hugs the border
    for side in (lines[14:19, 24:48], lines[45:50, 24:48]):  # top and bottom edges
        assert side.any(axis=0).all()  # a line under every column
    for side in (lines[20:44, 18:23], lines[20:44, 49:54]):  # left and right edges
        assert side.any(axis=1).all()


def test_grey_input_is_accepted_and_bad_input_refused() -> None:
    grey = np.full((32, 32), 255, np.uint8)
    grey[8:24, 8:24] = 0
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(edge_sketch(grey), edge_sketch(rgb))
    np.testing.assert_array_equal(edge_sketch(grey[:, :, None]), edge_sketch(rgb))
    with pytest.raises(ValueError, match="uint8"):
        edge_sketch(rgb.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        edge_sketch(np.zeros((8, 8, 4), np.uint8))


def test_options_are_frozen() -> None:
    options = EdgeOptions()
    with pytest.raises(AttributeError):
        options.thickness = 3  # type: ignore[misc]
    assert replace(options, thickness=3).thickness == 3
