"""Edge sketches of cat photos: the input side of pix2pix "edges2cats" pairs.

pix2pix learns A -> B from aligned pairs; for edges2cats A is a line drawing and B the photo.
Nobody draws thousands of cats, so A is made from B, and the model learns whatever these lines look
like: a user's sketch works best when it looks like them too. A person drawing a cat draws its whole
outline, the eyes, nose and ears and some fur strokes, so the sketch is two drawings laid over each other:

1. Grey, then local contrast (CLAHE, clahe_clip 2.0 on 4 x 4 tiles) and the levels stretched from the
   2nd to the 98th percentile: a black kitten on a dark rug or an orange cat on cream then has the
   contrast of any other photo (without CLAHE both came out nearly blank; percentiles, not min-max:
   one glint would set the scale).
2. An edge-preserving (bilateral) smoothing, smooth_sigma_colour 40 grey levels over 3 px: flattens fur
   texture, which otherwise turns into hatching all over, and keeps the outline sharp.
3. Detail, by XDoG (extended difference of Gaussians, Winnemoller et al. 2012, thresholded):
   D = G_sigma - tau * G_(k sigma); ink where D < epsilon. sigma 1.0 px and k 1.6 (the DoG's classic
   ratio) draw strokes about 2 px wide on the dark side of every edge: eyes, nose, ear insides and
   stripes. tau 0.98 makes flat areas slightly positive, so only edges ink; epsilon -0.015 drops the
   faintest, which are fur and JPEG noise (-0.005 drew fur all over; after CLAHE -0.01 hatched it).
4. Outline, by Canny on a strong blur (outline_sigma 2.5) with thresholds low_ratio / high_ratio times
   the median grey level clamped to MEDIAN_RANGE ("auto-Canny"): only the big shapes, as closed
   contours, where XDoG alone breaks a white cat against a light wall into pieces.
5. Drop 8-connected ink components under min_component_pixels (20): specks no hand-drawn sketch has.
6. Optional thickening by a thickness x thickness dilation (1 = none), then black (0) on white (255),
   the grey plane repeated into RGB so A and B share a shape.

Measured on 60 photos of ../shared/data/cat-photos at 256 px (`coverage` = the fraction of ink pixels):
mean 8.7 % (5th-95th percentile 4.3-15.5 %), against 7.0 % (2.8-13.9 %) for the Canny-only sketch before
it, whose ink was fragments of contours, often without eyes or ears; `python scripts/sketch_sheet.py`
prints both and draws docs/models/sketches.png (photo | before | now). Still weak: a white cat against a
light wall keeps only parts of its outline.

A sketch depends on the resolution it is drawn at (line width and speck size are in pixels): draw it
at the size the model sees. pairs.py draws it on the photo resized to the load size, before the random
crop, so sketch and photo stay aligned, and translate jobs draw user photos with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The median grey level that sets the outline's Canny thresholds is clamped to this range: below it a
# dark photo turns sensor noise into lines, above it a white cat loses its outline.
MEDIAN_RANGE = (88.0, 160.0)
STRETCH_PERCENTILES = (2.0, 98.0)
CLAHE_TILES = (4, 4)  # a 256 px sketch: 64 px tiles, about a cat's head
WHITE, BLACK = 255, 0


@dataclass(frozen=True)
class EdgeOptions:
    """How edge_sketch turns a photo into a line drawing (defaults chosen by eye and ink coverage on cat photos)."""

    clahe_clip: float = 2.0  # local contrast (CLAHE) clip limit; 0 = none
    smooth_sigma_colour: float = 40.0  # bilateral smoothing's grey-level range; 0 = none
    smooth_sigma_space: float = 3.0  # ... and its reach in px
    sigma: float = 1.0  # XDoG: the inner Gaussian in px (stroke width grows with it)
    k: float = 1.6  # XDoG: outer / inner Gaussian
    tau: float = 0.98  # XDoG: weight of the outer Gaussian (< 1: flat areas stay white)
    epsilon: float = -0.015  # XDoG: ink where the difference is below this (lower: fewer, stronger strokes)
    outline_sigma: float = 2.5  # the outline's blur before Canny, px; 0 = no outline pass
    low_ratio: float = 0.4  # the outline's auto-Canny thresholds: these times the (clamped) median grey
    high_ratio: float = 0.8
    min_component_pixels: int = 20  # drop connected ink components smaller than this (specks)
    thickness: int = 1  # dilation kernel side in px, 1 = none


def edge_sketch(image: np.ndarray, options: EdgeOptions = EdgeOptions()) -> np.ndarray:
    """Draw a photo as black lines on white, the A side of an edges2cats pair (deterministic).

    Args:
        image: uint8 RGB (H, W, 3) photo (grey (H, W) or (H, W, 1) is accepted too).
        options: the drawing's settings.

    Returns:
        uint8 RGB (H, W, 3): 0 on the lines, 255 elsewhere.
    """
    grey = _to_grey(image)  # (H, W) uint8
    if options.clahe_clip > 0:
        grey = cv2.createCLAHE(clipLimit=options.clahe_clip, tileGridSize=CLAHE_TILES).apply(grey)
    grey = np.round(stretch_levels(grey) * 255).astype(np.uint8)
    if options.smooth_sigma_colour > 0:
        grey = cv2.bilateralFilter(grey, 0, options.smooth_sigma_colour, options.smooth_sigma_space)
    ink = xdog_lines(grey.astype(np.float32) / 255, options)  # (H, W) bool
    if options.outline_sigma > 0:
        ink |= outline(grey, options)
    ink = remove_small_components(ink, options.min_component_pixels)
    if options.thickness > 1:
        kernel = np.ones((options.thickness, options.thickness), np.uint8)
        ink = cv2.dilate(ink.astype(np.uint8), kernel) > 0
    sketch = np.where(ink, BLACK, WHITE).astype(np.uint8)  # (H, W)
    return np.repeat(sketch[:, :, None], 3, axis=2)  # (H, W, 3)


def ink_coverage(sketch: np.ndarray) -> float:
    """The fraction of a sketch's pixels that are ink (black): the measure its defaults are tuned by."""
    return float((np.asarray(sketch)[..., 0] == BLACK).mean())


def stretch_levels(grey: np.ndarray) -> np.ndarray:
    """Return grey (H, W) uint8 as float32 in [0, 1], its 2nd..98th percentile stretched to 0..1."""
    low, high = np.percentile(grey, STRETCH_PERCENTILES)
    if high - low < 1.0:  # a flat image: nothing to stretch, nothing to draw
        return np.zeros(grey.shape, np.float32)
    return np.clip((grey.astype(np.float32) - low) / float(high - low), 0.0, 1.0)


def xdog_lines(levels: np.ndarray, options: EdgeOptions) -> np.ndarray:
    """Return the thresholded XDoG (H, W) bool of levels (H, W) float32 in [0, 1]: True on the strokes."""
    inner = cv2.GaussianBlur(levels, (0, 0), options.sigma, borderType=cv2.BORDER_REFLECT_101)
    outer = cv2.GaussianBlur(levels, (0, 0), options.sigma * options.k, borderType=cv2.BORDER_REFLECT_101)
    return (inner - options.tau * outer) < options.epsilon


def outline(grey: np.ndarray, options: EdgeOptions) -> np.ndarray:
    """Return the big shapes' contours (H, W) bool: auto-Canny on the strongly blurred grey (H, W) uint8."""
    blurred = cv2.GaussianBlur(grey, (0, 0), options.outline_sigma, borderType=cv2.BORDER_REFLECT_101)
    low, high = auto_canny_thresholds(blurred, options)
    return cv2.Canny(blurred, low, high, L2gradient=True) > 0


def auto_canny_thresholds(grey: np.ndarray, options: EdgeOptions) -> tuple[float, float]:
    """Return the outline's Canny (low, high) thresholds from the median grey level of the image."""
    median = float(np.clip(np.median(grey), *MEDIAN_RANGE))
    return options.low_ratio * median, options.high_ratio * median


def remove_small_components(edges: np.ndarray, min_pixels: int) -> np.ndarray:
    """Return edges (H, W) bool without the 8-connected components of fewer than min_pixels."""
    if min_pixels <= 1 or not edges.any():
        return edges
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(
        edges.astype(np.uint8), connectivity=8)  # labels (H, W) int32, 0 = background
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels  # (count,)
    keep[0] = False
    return keep[labels]


def _to_grey(image: np.ndarray) -> np.ndarray:
    """Return image as (H, W) uint8 grey, checking its dtype and shape."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"edge_sketch needs a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    raise ValueError(f"edge_sketch needs an (H, W, 3) RGB image, got shape {image.shape}")
