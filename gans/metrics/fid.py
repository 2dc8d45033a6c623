"""FID and KID from Inception-v3 pool features, computed only when a weights file is configured.

The service never downloads weights, so without a configured InceptionV3 file (Keras, no top) the
figures are reported as "unavailable" with the reason: never a made-up number. The sliced
Wasserstein distance (gans.metrics.swd) is the figure that is always there.

FID (Heusel et al. 2017): |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) on 2048-d features.
KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / d + 1)^3, averaged over subsets.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "no Inception weights configured (CATGAN_INCEPTION_WEIGHTS)"
_INPUT_SIZE = 299  # InceptionV3's native resolution: the one its features were trained at


def inception_metrics(real: np.ndarray, fake: np.ndarray, weights_path: str | None, *,
                      batch_size: int = 32, seed: int = 0) -> dict[str, float | str]:
    """Return {"fid", "kid", "kid_std"} for two uint8 (N, H, W, C) sets, or why they are missing.

    Args:
        real, fake: uint8 images (N, H, W, C), C in {1, 3}, at least 2 each; sizes may differ.
        weights_path: a Keras InceptionV3 no-top weights file (.h5 / .weights.h5), or None.

    Raises:
        ValueError: on images of the wrong dtype or shape.
    """
    if not weights_path:
        return {"fid": UNAVAILABLE, "kid": UNAVAILABLE, "reason": NOT_CONFIGURED}
    if not Path(weights_path).is_file():
        reason = f"Inception weights file not found: {weights_path} (CATGAN_INCEPTION_WEIGHTS)"
        return {"fid": UNAVAILABLE, "kid": UNAVAILABLE, "reason": reason}
    _check_images(real, "real")
    _check_images(fake, "fake")
    model = _inception(str(Path(weights_path).resolve()))
    feat_real = inception_features(model, real, batch_size)  # (N, 2048)
    feat_fake = inception_features(model, fake, batch_size)
    estimates = _kid_estimates(feat_real, feat_fake, subsets=100, subset_size=1000, seed=seed)
    return {"fid": frechet_distance(feat_real, feat_fake), "kid": float(estimates.mean()),
            "kid_std": float(estimates.std())}


@functools.lru_cache(maxsize=1)
def _inception(weights_path: str) -> Any:
    """Build InceptionV3 (no top, average pooling) from a local weights file, once per process."""
    import keras  # deferred: the SWD path and the unavailable path need no TensorFlow

    shape = (_INPUT_SIZE, _INPUT_SIZE, 3)
    return keras.applications.InceptionV3(include_top=False, weights=weights_path, pooling="avg",
                                          input_shape=shape)


def inception_features(model: Any, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Return the (N, 2048) pool features of uint8 images, resized to 299, scaled to [-1, 1]."""
    import keras
    import tensorflow as tf

    features = []
    for start in range(0, len(images), batch_size):
        batch = tf.cast(tf.convert_to_tensor(images[start:start + batch_size]), tf.float32)
        # (B, 299, 299, C)
        batch = tf.image.resize(batch, (_INPUT_SIZE, _INPUT_SIZE), method="bilinear")
        if batch.shape[-1] == 1:
            batch = tf.image.grayscale_to_rgb(batch)  # (B, 299, 299, 3)
        batch = keras.applications.inception_v3.preprocess_input(batch)
        features.append(np.asarray(model(batch, training=False), np.float64))  # (B, 2048)
    return np.concatenate(features)


def frechet_distance(feat_a: np.ndarray, feat_b: np.ndarray) -> float:
    """Return the Frechet distance between Gaussians fitted to two feature sets (N, D)."""
    _check_features(feat_a, feat_b)
    mu_a, mu_b = feat_a.mean(axis=0), feat_b.mean(axis=0)  # (D,)
    cov_a, cov_b = np.cov(feat_a, rowvar=False), np.cov(feat_b, rowvar=False)  # (D, D)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    mean_term = float(np.sum((mu_a - mu_b) ** 2))
    trace_term = float(np.trace(cov_a) + np.trace(cov_b)) - 2.0 * _trace_sqrt_product(cov_a, cov_b)
    return max(mean_term + trace_term, 0.0)  # a distance: only round-off could take it below 0


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """Return Tr((A B)^(1/2)) for symmetric PSD A, B: what scipy.linalg.sqrtm(A @ B).trace() gives.

    A B is similar to A^(1/2) B A^(1/2), which is symmetric PSD: its eigenvalues are real and
    non-negative, so there is no complex round-off to discard, even when N < D makes the
    covariances singular; and numpy alone suffices (scipy is not a declared dependency).
    """
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T  # (D, D)
    inner = root_a @ cov_b @ root_a
    eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))


def kernel_inception_distance(feat_a: np.ndarray, feat_b: np.ndarray, *, subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """Return KID: unbiased polynomial-kernel MMD^2 of two feature sets, averaged over subsets."""
    _check_features(feat_a, feat_b)
    return float(_kid_estimates(feat_a, feat_b, subsets=subsets, subset_size=subset_size,
                                seed=seed).mean())


def _kid_estimates(feat_a: np.ndarray, feat_b: np.ndarray, *, subsets: int, subset_size: int,
                   seed: int) -> np.ndarray:
    """Return one unbiased MMD^2 estimate per random subset pair, shape (subsets,)."""
    size = min(subset_size, len(feat_a), len(feat_b))
    if size == len(feat_a) == len(feat_b):
        subsets = 1  # every subset would hold all samples: the estimates would all be equal
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for i in range(subsets):
        a = feat_a[rng.choice(len(feat_a), size, replace=False)]  # (m, D)
        b = feat_b[rng.choice(len(feat_b), size, replace=False)]
        estimates[i] = _unbiased_mmd2(a, b)
    return estimates


def _unbiased_mmd2(a: np.ndarray, b: np.ndarray) -> float:
    """Return the unbiased MMD^2 of two equal-size sets (m, D) under k(x, y) = (x.y / D + 1)^3."""
    m, dims = a.shape
    k_aa = (a @ a.T / dims + 1.0) ** 3  # (m, m)
    k_bb = (b @ b.T / dims + 1.0) ** 3
    k_ab = (a @ b.T / dims + 1.0) ** 3
    # the within-set sums leave out the diagonal (a sample against itself): that removes the bias
    within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within - 2.0 * k_ab.mean())


def _check_features(feat_a: np.ndarray, feat_b: np.ndarray) -> None:
    """Raise ValueError unless both are (N, D) arrays with the same D and at least 2 rows."""
    for name, feat in (("feat_a", feat_a), ("feat_b", feat_b)):
        if not isinstance(feat, np.ndarray) or feat.ndim != 2 or len(feat) < 2:
            raise ValueError(f"{name} must be a (N, D) array with N >= 2, got {np.shape(feat)}")
    if feat_a.shape[1] != feat_b.shape[1]:
        raise ValueError(f"feature sizes differ: {feat_a.shape[1]} vs {feat_b.shape[1]}")


def _check_images(images: np.ndarray, name: str) -> None:
    """Raise ValueError unless images is a uint8 (N, H, W, C) batch, N >= 2, C in {1, 3}."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        found = getattr(images, "dtype", type(images).__name__)
        raise ValueError(f"{name} must be a uint8 numpy array, got {found}")
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) < 2:
        raise ValueError(f"{name} must be a (N, H, W, C) batch with N >= 2 and C in {{1, 3}}, "
                         f"got shape {images.shape}")
