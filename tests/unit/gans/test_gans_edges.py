"""Edge sketches of cat photos (the A side of edges2cats pairs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gans.edges import EdgeOptions, edge_sketch, ink_coverage

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


def square_photos(count: int, size: int = 256) -> list[np.ndarray]:
    """count real photos spread over the folder, centre-cropped and resized to size, as gans.pairs draws them."""
    paths = sorted(PHOTOS.glob("*.jpg"))
    photos = []
    for path in paths[:: len(paths) // count][:count]:
        image = Image.open(path).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        photos.append(np.asarray(image.crop((left, top, left + side, top + side)).resize((size, size))))
    return photos


@needs_photos
def test_ink_coverage_of_real_photos_is_in_the_band_of_a_drawing() -> None:
    coverage = np.array([ink_coverage(edge_sketch(photo)) for photo in square_photos(24)])
    assert 0.05 <= float(np.median(coverage)) <= 0.20, coverage  # a drawing: 5-20 % ink
    assert (coverage >= 0.015).all() and (coverage <= 0.30).all(), coverage  # no blank page, no ink blot


def test_a_soft_low_contrast_cat_gets_its_whole_outline() -> None:
    image = np.full((128, 128), 150, np.uint8)  # an orange cat on cream: 20 grey levels apart, soft edges
    cv2.circle(image, (64, 64), 36, 130, thickness=-1)
    image = cv2.GaussianBlur(image, (0, 0), 2.0)
    lines = edge_sketch(image)[..., 0] == 0
    ys, xs = np.nonzero(lines)
    radius = np.hypot(ys - 64, xs - 64)
    assert len(radius) and (np.abs(radius - 36) < 6).mean() > 0.9  # the ink is on the outline
    angles = np.degrees(np.arctan2(ys - 64, xs - 64))[np.abs(radius - 36) < 6]
    assert len(np.unique((angles % 360 // 10).astype(int))) == 36  # all round it, no piece missing


@needs_photos
@pytest.mark.parametrize("options", [EdgeOptions(), EdgeOptions(thickness=2),
                                     EdgeOptions(min_component_pixels=30, sigma=1.4)])
def test_no_speck_smaller_than_min_component_pixels(options: EdgeOptions) -> None:
    for photo in real_photos(4):
        lines = edge_sketch(photo, options)[..., 0] == 0
        assert smallest_component(lines) >= options.min_component_pixels


@needs_photos
def test_sketch_is_deterministic_and_follows_its_options() -> None:
    photo = real_photos(1)[0]
    first = edge_sketch(photo)
    np.testing.assert_array_equal(first, edge_sketch(photo.copy()))
    thick = edge_sketch(photo, EdgeOptions(thickness=2))
    assert black_fraction(thick) > black_fraction(first)  # dilation thickens lines
    noisy = edge_sketch(photo, EdgeOptions(smooth_sigma_colour=0, epsilon=-0.005, min_component_pixels=1))
    assert black_fraction(noisy) > black_fraction(first)  # smoothing, the threshold and speck removal clean up
    bare = edge_sketch(photo, EdgeOptions(outline_sigma=0))
    assert black_fraction(bare) < black_fraction(first)  # the outline pass adds contours


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
    # XDoG's strokes lie on the dark side of an edge, a few px in: within 3 px of the ring
    near_border = cv2.dilate(border.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
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
