"""Quality metrics: sliced Wasserstein distance on Laplacian pyramids, FID and KID."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from gans.metrics.fid import (
    NOT_CONFIGURED,
    frechet_distance,
    inception_features,
    inception_metrics,
    kernel_inception_distance,
)
from gans.metrics.swd import laplacian_pyramid, sliced_wasserstein_distance, swd_summary


def disc_images(count: int, size: int = 32, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Flat discs on a flat ground, faint grain: edges as in photos; (N, size, size, C) uint8."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]  # (size, size) each
    background = rng.uniform(0, 255, (count, 1, 1, channels))
    pixels = np.broadcast_to(background, (count, size, size, channels))  # (N, H, W, C)
    for _ in range(6):
        centre_y, centre_x, radius = rng.uniform(0, size, (3, count, 1, 1))  # (N, 1, 1) each
        distance = np.hypot(rows - centre_y, cols - centre_x)  # (N, H, W)
        inside = (distance < radius / 4 + 2)[..., None]
        pixels = np.where(inside, rng.uniform(0, 255, (count, 1, 1, channels)), pixels)
    return np.clip(pixels + rng.normal(0, 4, pixels.shape), 0, 255).astype(np.uint8)


def blurred(images: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian-blur each image with Pillow."""
    blur = ImageFilter.GaussianBlur(radius)
    return np.stack([np.asarray(Image.fromarray(image).filter(blur)) for image in images])


def uniform_noise(like: np.ndarray, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, like.shape, dtype=np.uint8)


def load_cat_faces(folder: Path, count: int) -> np.ndarray:
    """Read the first count cat faces as (count, 64, 64, 3) uint8."""
    paths = sorted(folder.glob("*.jpg"))[:count]
    return np.stack([np.asarray(Image.open(path).convert("RGB")) for path in paths])


# --- sliced Wasserstein distance -------------------------------------------------------------

def test_identical_sets_score_zero_at_every_level() -> None:
    images = disc_images(24)
    distances = sliced_wasserstein_distance(images, images.copy())
    assert len(distances) == 2  # 32px and 16px
    assert all(d < 1e-6 for d in distances)


def test_blur_is_seen_most_at_the_finest_level_and_noise_is_worse_still() -> None:
    images = disc_images(48)
    blur = sliced_wasserstein_distance(images, blurred(images, 1.0))
    noise = sliced_wasserstein_distance(images, uniform_noise(images))
    assert min(blur) > 1.0 and blur[0] == max(blur)
    assert all(n > b for n, b in zip(noise, blur, strict=True))


def test_cat_faces_halves_are_close_and_degraded_copies_far(cat_faces: Path) -> None:
    faces = load_cat_faces(cat_faces, 400)
    first, second = faces[:200], faces[200:]
    halves = swd_summary(first, second, random_projections=256)
    heavy_blur = swd_summary(first, blurred(first, 3.0), random_projections=256)
    noise = swd_summary(first, uniform_noise(first), random_projections=256)
    print("\nSWD x1e3 halves", halves, "\nblurred", heavy_blur, "\nnoise", noise)
    assert 0 < halves["swd_mean"] < 0.5 * heavy_blur["swd_mean"] < 0.5 * noise["swd_mean"]
    assert halves["swd_64px"] < 0.25 * heavy_blur["swd_64px"]
    assert halves["swd_64px"] < 0.25 * noise["swd_64px"]


def test_a_seed_fixes_the_result() -> None:
    real, fake = disc_images(16, seed=0), disc_images(16, seed=1)
    first = sliced_wasserstein_distance(real, fake, seed=3)
    assert sliced_wasserstein_distance(real, fake, seed=3) == first
    assert sliced_wasserstein_distance(real, fake, seed=4) != first


def test_gray_28px_is_one_level() -> None:
    real, fake = disc_images(20, 28, channels=1), disc_images(20, 28, channels=1, seed=5)
    summary = swd_summary(real, fake)
    assert set(summary) == {"swd_mean", "swd_28px"}
    assert summary["swd_mean"] == summary["swd_28px"] > 0


def test_levels_for_rgb_64_and_256() -> None:
    rgb64 = swd_summary(disc_images(8, 64), disc_images(8, 64, seed=2), patches_per_image=16)
    assert list(rgb64) == ["swd_mean", "swd_64px", "swd_32px", "swd_16px"]
    big = sliced_wasserstein_distance(disc_images(2, 256), disc_images(2, 256, seed=2),
                                      patches_per_image=8, random_projections=32)
    assert len(big) == 5 and all(np.isfinite(big))


def test_sets_of_different_sizes_and_a_flat_fake() -> None:
    real = disc_images(30)
    assert all(np.isfinite(sliced_wasserstein_distance(real, disc_images(12, seed=7))))
    flat = np.full((10, 32, 32, 3), 128, np.uint8)  # a collapsed generator: no division by zero
    assert all(d > 0 and np.isfinite(d) for d in sliced_wasserstein_distance(real, flat))


def test_pyramid_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    image = disc_images(1, 64)[0].astype(np.float32)  # (64, 64, 3)
    down = cv2.pyrDown(image)
    fine, coarse = laplacian_pyramid(image[None], 2)
    np.testing.assert_allclose(coarse[0], down, atol=1e-4)
    np.testing.assert_allclose(fine[0], image - cv2.pyrUp(down), atol=1e-3)


@pytest.mark.parametrize("real, fake", [
    (np.zeros((4, 32, 32, 3), np.float32), np.zeros((4, 32, 32, 3), np.uint8)),  # dtype
    (np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)),  # no batch axis
    (np.zeros((4, 32, 32, 2), np.uint8), np.zeros((4, 32, 32, 2), np.uint8)),  # 2 channels
    (np.zeros((4, 32, 32, 3), np.uint8), np.zeros((4, 16, 16, 3), np.uint8)),  # sizes differ
    (np.zeros((4, 5, 5, 1), np.uint8), np.zeros((4, 5, 5, 1), np.uint8)),  # smaller than a patch
    (np.zeros((0, 32, 32, 3), np.uint8), np.zeros((4, 32, 32, 3), np.uint8)),  # empty
])
def test_bad_images_raise_value_error(real: np.ndarray, fake: np.ndarray) -> None:
    with pytest.raises(ValueError):
        sliced_wasserstein_distance(real, fake)


def test_bad_option_raises_value_error() -> None:
    images = disc_images(2)
    with pytest.raises(ValueError, match="random_projections"):
        sliced_wasserstein_distance(images, images, random_projections=0)


# --- FID and KID ---------------------------------------------------------------------------

def gaussian_features(count: int, dims: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (count, dims)) @ np.diag(np.arange(1, dims + 1))


def test_fid_of_identical_sets_is_zero() -> None:
    features = gaussian_features(200)
    assert frechet_distance(features, features.copy()) == pytest.approx(0, abs=1e-8)


def test_fid_closed_forms() -> None:
    features = gaussian_features(300)
    shift = np.linspace(-1, 2, features.shape[1])
    # same covariance: FID is the squared distance between the means
    assert frechet_distance(features, features + shift) == pytest.approx(np.sum(shift**2), rel=1e-8)
    # b = 2a: Tr(S + 4S - 2 * 2S) = Tr(S), plus |mu - 2 mu|^2
    mean, cov = features.mean(0), np.cov(features, rowvar=False)
    expected = np.trace(cov) + np.sum(mean**2)
    assert frechet_distance(features, 2 * features) == pytest.approx(expected, rel=1e-8)


def test_fid_agrees_with_scipy_sqrtm() -> None:
    linalg = pytest.importorskip("scipy.linalg")
    a, b = gaussian_features(50, 16, seed=1), gaussian_features(40, 16, seed=2) ** 2
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * covmean)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (400, 8)), rng.normal(0, 1, (400, 8))
    same = kernel_inception_distance(a, b, subset_size=200, subsets=20)
    near = kernel_inception_distance(a, b + 1.0, subset_size=200, subsets=20)
    far = kernel_inception_distance(a, b + 3.0, subset_size=200, subsets=20)
    assert abs(same) < 0.1 * near and near < far
    # identical sets: the unbiased estimator is off by O(1/N) only
    assert abs(kernel_inception_distance(a, a.copy())) < 0.05 * near


def test_kid_is_the_unbiased_mmd() -> None:
    a, b = gaussian_features(6, 3, seed=3), gaussian_features(6, 3, seed=4) + 0.5
    kernel = lambda x, y: (x @ y / 3 + 1) ** 3  # noqa: E731
    within = sum(kernel(p[i], p[j]) for p in (a, b) for i in range(6) for j in range(6) if i != j)
    across = sum(kernel(x, y) for x in a for y in b)
    expected = within / 30 - 2 * across / 36
    assert kernel_inception_distance(a, b) == pytest.approx(expected, rel=1e-10)


def test_feature_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((5, 4)), np.zeros((5, 3)))
    with pytest.raises(ValueError):
        kernel_inception_distance(np.zeros((1, 4)), np.zeros((5, 4)))


@pytest.mark.parametrize("weights", [None, "", "/nonexistent/inception.weights.h5"])
def test_without_weights_the_figures_are_unavailable(weights: str | None) -> None:
    images = disc_images(4)
    result = inception_metrics(images, images, weights)
    assert result["fid"] == result["kid"] == "unavailable"
    assert "CATGAN_INCEPTION_WEIGHTS" in str(result["reason"])
    if not weights:
        assert result["reason"] == NOT_CONFIGURED


def test_features_see_299px_rgb_scaled_to_unit_range() -> None:
    seen = []

    def fake_inception(batch, training: bool) -> np.ndarray:  # noqa: ANN001
        seen.append(np.asarray(batch))
        return np.ones((len(seen[-1]), 2048), np.float32)

    gray = np.stack([np.zeros((28, 28, 1), np.uint8), np.full((28, 28, 1), 255, np.uint8)] * 3)
    features = inception_features(fake_inception, gray, batch_size=4)
    assert features.shape == (6, 2048) and [len(b) for b in seen] == [4, 2]
    assert seen[0].shape[1:] == (299, 299, 3)
    assert seen[0][0].max() == pytest.approx(-1) and seen[0][1].min() == pytest.approx(1)


def test_a_keras_inception_weights_file_gives_numbers(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    # random weights saved locally stand in for the real file: nothing is downloaded
    network = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                             input_shape=(299, 299, 3))
    weights = tmp_path / "inception_v3_notop.weights.h5"
    network.save_weights(weights)
    real, fake = disc_images(2, 28, channels=1), disc_images(3, 28, channels=1, seed=1)
    result = inception_metrics(real, fake, str(weights))
    assert set(result) == {"fid", "kid", "kid_std"}
    assert all(isinstance(value, float) and np.isfinite(value) for value in result.values())
