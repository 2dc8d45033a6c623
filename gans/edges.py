"""Edge sketches of cat photos: the input side of pix2pix "edges2cats" pairs.

pix2pix learns A -> B from aligned pairs; for edges2cats A is a line drawing and B the photo.
Nobody draws thousands of cats, so A is made from B by an edge detector, and the model learns
whatever these lines look like: a user's sketch works best when it looks like them too, i.e.
black lines about 2 px wide on white, the outline plus eyes, nose, ears and a few fur strokes.

The recipe (deterministic; numpy + OpenCV only), defaults tuned by eye on the cat photos:
1. Grey, then a Gaussian blur (blur_sigma 1.5): Canny on raw fur marks every hair; 1.0 still
   leaves tabby stripes as clutter, 2.0 starts to lose the eyes.
2. Canny (L2 gradient) with thresholds low_ratio * m and high_ratio * m, m the median grey level
   ("auto-Canny"), so photos of any exposure get a similar line density without a per-image
   setting. m is clamped to MEDIAN_RANGE: a black cat in a dark room (m ~ 20) would otherwise
   turn sensor noise and fur into lines, a white kitten on white (m ~ 200) lose its outline.
   The ratios (0.4, 0.8) sit below the classic 0.66/1.33 because Canny thresholds the gradient,
   not the intensity: 0.66/1.33 lost the outlines of soft, low-contrast cats.
3. Drop 8-connected edge components under min_component_pixels (30) pixels: fur and JPEG specks
   that no hand-drawn sketch has.
4. Thicken lines by a thickness x thickness dilation (2): strokes read as a pen drawing, and
   survive the 256 -> 286 resize of pix2pix's jitter, which turns 1 px lines into grey smudges.
5. Invert to black (0) on white (255) and repeat the grey plane into RGB, so A and B share a shape.

A sketch depends on the resolution it is drawn at (line width and speck size are in pixels):
draw it at the size the model sees. pairs.py draws it on the photo resized to the load size,
before the random crop, so sketch and photo stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The median grey level that sets Canny's thresholds is clamped to this range: below it a dark
# photo turns sensor noise and black fur into lines, above it a white cat loses its outline.
MEDIAN_RANGE = (88.0, 160.0)
WHITE, BLACK = 255, 0


@dataclass(frozen=True)
class EdgeOptions:
    """How edge_sketch turns a photo into a line drawing (defaults tuned on cat photos)."""

    blur_sigma: float = 1.5  # light blur first: Canny on raw fur gives noise; 0 = none
    low_ratio: float = 0.4  # auto-Canny thresholds: these times the (clamped) median intensity
    high_ratio: float = 0.8
    min_component_pixels: int = 30  # drop connected edge components smaller than this (specks)
    thickness: int = 2  # dilation kernel side in pixels, 1 = none


def edge_sketch(image: np.ndarray, options: EdgeOptions = EdgeOptions()) -> np.ndarray:
    """Draw a photo as black lines on white, the A side of an edges2cats pair.

    Args:
        image: uint8 RGB (H, W, 3) photo (grey (H, W) or (H, W, 1) is accepted too).
        options: the detector's settings.

    Returns:
        uint8 RGB (H, W, 3): 0 on the lines, 255 elsewhere.
    """
    grey = _to_grey(image)  # (H, W) uint8
    if options.blur_sigma > 0:
        grey = cv2.GaussianBlur(grey, (0, 0), sigmaX=options.blur_sigma,
                                borderType=cv2.BORDER_REFLECT_101)
    low, high = auto_canny_thresholds(grey, options)
    edges = cv2.Canny(grey, low, high, L2gradient=True) > 0  # (H, W) bool
    edges = remove_small_components(edges, options.min_component_pixels)
    if options.thickness > 1:
        kernel = np.ones((options.thickness, options.thickness), np.uint8)
        edges = cv2.dilate(edges.astype(np.uint8), kernel) > 0
    sketch = np.where(edges, BLACK, WHITE).astype(np.uint8)  # (H, W)
    return np.repeat(sketch[:, :, None], 3, axis=2)  # (H, W, 3)


def auto_canny_thresholds(grey: np.ndarray, options: EdgeOptions) -> tuple[float, float]:
    """Return Canny's (low, high) thresholds from the median grey level of the image."""
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
