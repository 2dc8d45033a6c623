"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, ProGAN paper).

A download-free quality figure: at each level of a Laplacian pyramid, random 7x7 neighbourhoods of
the real and the generated images are compared as two point clouds, through many random 1-D
projections where the Wasserstein-1 distance is just the mean gap between sorted samples. The
finest level judges texture and edges, the coarsest the large-scale shapes and colours.

Measures what the paper's reference code (tkarras/progressive_growing_of_gans,
metrics/sliced_wasserstein.py) measures: cv2-style pyrDown/pyrUp with the 5x5 binomial filter and
mirrored borders, descriptors normalised per channel with each set's own mean and std (so, as
there, a global change of brightness or contrast per channel is not seen), unit random
directions, results x1e3. Two choices of ours: both sets draw their patch positions from the
same seeded stream (common random numbers: identical sets score exactly 0 and run-to-run noise
is smaller), and sets of different sizes are compared on a common grid of quantiles.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0  # its outer product: the 5x5
_IMAGE_CHUNK = 64  # images per pyramid pass: bounds memory at 256x256 (~200 MB)
_DIRECTION_CHUNK = 64  # directions per matmul+sort pass: bounds memory at many patches
_THREADS = max(1, min(4, os.cpu_count() or 1))  # sorting threads; more buys little
_EPS = 1e-8  # keeps a flat set (e.g. a collapsed generator) from dividing by zero


def sliced_wasserstein_distance(real: np.ndarray, fake: np.ndarray, *, patch_size: int = 7,
                                patches_per_image: int = 64, random_projections: int = 512,
                                resolution_min: int = 16, seed: int = 0) -> list[float]:
    """Return one SWD per Laplacian-pyramid level, finest first, multiplied by 1e3 as in the paper.

    Args:
        real, fake: uint8 images (N, H, W, C) with C in {1, 3}; the same H, W, C (N may differ).
        patch_size: side of the square neighbourhoods compared (odd in the paper: 7).
        patches_per_image: neighbourhoods drawn per image per level.
        random_projections: random unit directions per level.
        resolution_min: halve the images while the next level is at least this size.
        seed: fixes patch positions and directions; same inputs and seed give the same figures.

    Raises:
        ValueError: on a wrong dtype, rank, channel count, mismatched sizes or images smaller
            than a patch.
    """
    _check_images(real, fake, patch_size)
    _check_options(patch_size, patches_per_image, random_projections, resolution_min)
    sizes = pyramid_sizes(real.shape[1], real.shape[2], resolution_min, patch_size)
    real_desc = _descriptors(real, sizes, patch_size, patches_per_image, seed)
    fake_desc = _descriptors(fake, sizes, patch_size, patches_per_image, seed)
    distances = []
    for level, (a, b) in enumerate(zip(real_desc, fake_desc, strict=True)):
        directions = _random_directions(a.shape[1], random_projections, seed, level)
        distances.append(1e3 * _sliced_distance(a, b, directions))
    return distances


def swd_summary(real: np.ndarray, fake: np.ndarray, **kw: int) -> dict[str, float]:
    """Return {"swd_mean", "swd_<H>px"...}: flat keys a job record or a log line can hold."""
    distances = sliced_wasserstein_distance(real, fake, **kw)
    sizes = pyramid_sizes(real.shape[1], real.shape[2], kw.get("resolution_min", 16),
                          kw.get("patch_size", 7))
    summary = {"swd_mean": float(np.mean(distances))}
    summary.update({f"swd_{h}px": d for (h, _), d in zip(sizes, distances, strict=True)})
    return summary


def pyramid_sizes(height: int, width: int, resolution_min: int,
                  patch_size: int) -> list[tuple[int, int]]:
    """List (H, W) per level, finest first: halve (rounding up, as cv2.pyrDown) while large."""
    floor = max(resolution_min, patch_size)
    sizes = [(height, width)]
    while min(math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)) >= floor:
        sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
    return sizes


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """Split (N, H, W, C) into band-pass levels, finest first; the last is the Gaussian residual."""
    pyramid = [images.astype(np.float32)]
    for _ in range(1, levels):
        coarse = _pyr_down(pyramid[-1])  # (N, ceil(H/2), ceil(W/2), C)
        pyramid[-1] = pyramid[-1] - _pyr_up(coarse, pyramid[-1].shape)
        pyramid.append(coarse)
    return pyramid


def _pyr_down(x: np.ndarray) -> np.ndarray:
    """Blur (N, H, W, C) with the 5x5 binomial filter, keep even rows and columns (cv2.pyrDown)."""
    for axis in (1, 2):
        size = (x.shape[axis] + 1) // 2
        padded = _pad_axis(x, axis, 2)  # mirrored borders, cv2's BORDER_REFLECT_101
        # only the even outputs are computed: the odd ones would be thrown away
        x = sum(tap * _take(padded, axis, k, k + 2 * size - 1, 2)
                for k, tap in enumerate(_BINOMIAL))
    return x


def _pyr_up(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Upsample (N, h, w, C) to shape like cv2.pyrUp: zeros interleaved, blurred with gain 4.

    Equals cv2.pyrUp for even sizes; for odd ones the mirrored border is that of the
    zero-interleaved image, as in the reference's scipy version.

    Computed in polyphase form: the zeros would be 3/4 of the pixels, so even outputs take taps
    (1, 6, 1)/8 and odd outputs (4, 4)/8 of the original samples, one axis at a time.
    """
    for axis in (1, 2):
        size, count = shape[axis], x.shape[axis]
        # extend by one sample each side the way mirroring the zero-interleaved signal would
        tail = count - 1 if size % 2 == 0 else count - 2
        ext = np.concatenate([_take(x, axis, 1, 2), x, _take(x, axis, tail, tail + 1)], axis=axis)
        even = (_take(ext, axis, 0, count) + 6 * _take(ext, axis, 1, count + 1)
                + _take(ext, axis, 2, count + 2)) / 8
        odd = (_take(ext, axis, 1, count + 1) + _take(ext, axis, 2, count + 2)) / 2
        up_shape = list(x.shape)
        up_shape[axis] = size
        up = np.empty(up_shape, np.float32)
        _put(up, axis, 0, even, 2)
        _put(up, axis, 1, _take(odd, axis, 0, size // 2), 2)
        x = up
    return x


def _pad_axis(x: np.ndarray, axis: int, width: int) -> np.ndarray:
    """Pad one axis by width with cv2-style mirroring (edge sample not repeated)."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (width, width)
    return np.pad(x, pad, mode="reflect")


def _take(x: np.ndarray, axis: int, start: int, stop: int, step: int = 1) -> np.ndarray:
    """Slice one axis: x[..., start:stop:step, ...] without copying."""
    window = [slice(None)] * x.ndim
    window[axis] = slice(start, stop, step)
    return x[tuple(window)]


def _put(x: np.ndarray, axis: int, start: int, values: np.ndarray, step: int) -> None:
    """Write values into x[..., start::step, ...] along one axis."""
    window = [slice(None)] * x.ndim
    window[axis] = slice(start, None, step)
    x[tuple(window)] = values


def _descriptors(images: np.ndarray, sizes: list[tuple[int, int]], patch_size: int,
                 per_image: int, seed: int) -> list[np.ndarray]:
    """Return per level the normalised patch descriptors (N*per_image, C*patch_size**2)."""
    count, levels = len(images), len(sizes)
    positions = []  # per level: (image, top, left) index arrays, each (N*per_image,)
    for level, (h, w) in enumerate(sizes):
        rng = np.random.default_rng([seed, level])
        image_ids = np.repeat(np.arange(count), per_image)
        positions.append((image_ids, rng.integers(0, h - patch_size + 1, count * per_image),
                          rng.integers(0, w - patch_size + 1, count * per_image)))
    patches: list[list[np.ndarray]] = [[] for _ in range(levels)]
    for start in range(0, count, _IMAGE_CHUNK):
        stop = min(start + _IMAGE_CHUNK, count)
        for level, band in enumerate(laplacian_pyramid(images[start:stop], levels)):
            patches[level].append(_gather_patches(band, positions[level], start, stop, patch_size))
    return [_normalise(np.concatenate(p)) for p in patches]


def _gather_patches(band: np.ndarray, position: tuple[np.ndarray, ...], start: int, stop: int,
                    patch_size: int) -> np.ndarray:
    """Cut the patches whose image id is in [start, stop) out of one chunk's band (n, h, w, C)."""
    image_ids, tops, lefts = position
    lo, hi = np.searchsorted(image_ids, [start, stop])  # image ids are sorted by construction
    # (n, h-p+1, w-p+1, C, p, p): a view, so only the chosen patches are copied
    windows = np.lib.stride_tricks.sliding_window_view(band, (patch_size, patch_size), axis=(1, 2))
    return windows[image_ids[lo:hi] - start, tops[lo:hi], lefts[lo:hi]]  # (K, C, p, p)


def _normalise(patches: np.ndarray) -> np.ndarray:
    """Give each channel zero mean and unit std over the set; return it flattened (K, C*p*p)."""
    count, channels = patches.shape[:2]
    flat = patches.reshape(count, -1)  # (K, C*p*p), channel-major
    mean = flat.mean(axis=0, dtype=np.float64).reshape(channels, -1).mean(axis=1)  # (C,)
    flat -= np.repeat(mean, flat.shape[1] // channels).astype(np.float32)
    square_sums = np.einsum("kd,kd->d", flat, flat, dtype=np.float64)  # (C*p*p,)
    std = np.sqrt(square_sums.reshape(channels, -1).sum(axis=1) / flat.size * channels)  # (C,)
    flat /= np.repeat(std + _EPS, flat.shape[1] // channels).astype(np.float32)
    return flat


def _random_directions(dims: int, count: int, seed: int, level: int) -> np.ndarray:
    """Draw count unit vectors (dims, count), the same for both sets at a level."""
    rng = np.random.default_rng([seed, level, 1])
    directions = rng.standard_normal((dims, count)).astype(np.float32)
    return directions / np.linalg.norm(directions, axis=0, keepdims=True)


def _sliced_distance(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> float:
    """Average over directions the 1-D Wasserstein-1 distance of the projected sets a, b (K, D)."""
    starts = range(0, directions.shape[1], _DIRECTION_CHUNK)
    chunks = [directions[:, s:s + _DIRECTION_CHUNK] for s in starts]  # each (D, R)
    # numpy's sort releases the GIL, and sorting is most of the cost: one thread per core
    with ThreadPoolExecutor(max_workers=min(_THREADS, len(chunks))) as pool:
        totals = list(pool.map(lambda chunk: _chunk_distance(a, b, chunk), chunks))
    return sum(totals) / directions.shape[1]


def _chunk_distance(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> float:
    """Sum over these directions (D, R) the mean gap between sorted projections."""
    # (R, K): one row per direction, so the sort runs along contiguous memory
    proj_a = directions.T @ a.T
    proj_b = directions.T @ b.T
    proj_a.sort(axis=1)
    proj_b.sort(axis=1)
    proj_a, proj_b = _common_quantiles(proj_a, proj_b)
    return float(np.abs(proj_a - proj_b).mean(axis=1).sum())


def _common_quantiles(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resample the larger sorted set (R, K) at the smaller one's quantiles; equal sizes pass."""
    if a.shape[1] == b.shape[1]:
        return a, b
    small, large = (a, b) if a.shape[1] < b.shape[1] else (b, a)
    quantiles = (np.arange(small.shape[1]) + 0.5) / small.shape[1]
    ranks = np.minimum((quantiles * large.shape[1]).astype(np.int64), large.shape[1] - 1)
    picked = large[:, ranks]
    return (small, picked) if small is a else (picked, small)


def _check_images(real: np.ndarray, fake: np.ndarray, patch_size: int) -> None:
    """Raise ValueError unless both are uint8 (N, H, W, C) batches of the same image shape."""
    for name, images in (("real", real), ("fake", fake)):
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            found = getattr(images, "dtype", type(images).__name__)
            raise ValueError(f"{name} must be a uint8 numpy array, got {found}")
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
            raise ValueError(f"{name} must be a non-empty (N, H, W, C) batch with C in {{1, 3}}, "
                             f"got shape {images.shape}")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real and fake images differ in shape: {real.shape[1:]} vs "
                         f"{fake.shape[1:]}")
    if min(real.shape[1:3]) < patch_size:
        raise ValueError(f"images {real.shape[1:3]} are smaller than a "
                         f"{patch_size}x{patch_size} patch")


def _check_options(patch_size: int, per_image: int, projections: int, resolution_min: int) -> None:
    """Raise ValueError on a non-positive option."""
    options = {"patch_size": patch_size, "patches_per_image": per_image,
               "random_projections": projections, "resolution_min": resolution_min}
    for name, value in options.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
