"""pix2pix pairs: AB folders and photos-to-edges as tf.data pipelines."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gans.edges import edge_sketch
from gans.errors import DatasetError
from gans.pairs import (ab_pairs_dataset, count_pair_images, edge_pairs_dataset, grey_pairs_dataset, grey_photo,
                        jitter, load_size, split_ab)

# Real photos, read where they are (never copied into the repo; tests link to them).
PHOTOS = Path(__file__).resolve().parents[4] / "shared" / "data" / "cat-photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"no cat photos at {PHOTOS}")


def link_photos(directory: Path, count: int) -> Path:
    """Fill directory with symbolic links to the first count real cat photos."""
    directory.mkdir(parents=True, exist_ok=True)
    for photo in sorted(PHOTOS.glob("*.jpg"))[:count]:
        (directory / photo.name).symlink_to(photo)
    return directory


def write_ab_faces(directory: Path, faces: Path, count: int, same: bool = False) -> list[Path]:
    """Write count AB PNGs (64 x 128) of real faces: B a face, A its mirror (or the face)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, face in enumerate(sorted(faces.glob("*.jpg"))[:count]):
        b = np.asarray(Image.open(face).convert("RGB").resize((64, 64)))  # (64, 64, 3)
        a = b if same else b[:, ::-1]
        paths.append(directory / f"ab_{i:03d}.png")
        Image.fromarray(np.concatenate([a, b], axis=1)).save(paths[-1])
    return paths


def write_ab_levels(directory: Path, count: int) -> list[int]:
    """Write count flat AB images, file i all grey level 10 * i: order is readable from pixels."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((24, 48, 3), 10 * i, np.uint8)).save(directory / f"{i:02d}.png")
    return [10 * i for i in range(count)]


def levels(dataset: tf.data.Dataset) -> list[int]:
    """Return the grey level of each element of a dataset of flat images, in order."""
    return [round((float(x[i, 0, 0, 0]) + 1) * 127.5) for x, _ in dataset for i in range(len(x))]


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round((image + 1.0) * 127.5).astype(np.uint8)


def as_arrays(dataset: tf.data.Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def assert_pair_batch(x: tf.Tensor, y: tf.Tensor, shape: tuple[int, ...]) -> None:
    assert x.shape == shape and y.shape == shape
    assert x.dtype == tf.float32 and y.dtype == tf.float32
    for t in (x.numpy(), y.numpy()):
        assert t.min() >= -1.0 and t.max() <= 1.0


def test_split_ab_picks_the_halves_by_direction() -> None:
    image = tf.constant(np.arange(4 * 10 * 3).reshape(4, 10, 3))  # (H, 2W, C), W = 5
    a, b = image[:, :5], image[:, 5:]
    got_a, got_b = split_ab(image, "AtoB")
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)
    got_b, got_a = split_ab(image, "BtoA")
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)
    with pytest.raises(ValueError, match="direction"):
        split_ab(image, "AB")


def test_jitter_crops_and_mirrors_input_and_target_alike() -> None:
    image = tf.random.stateless_uniform((64, 64, 3), seed=[1, 2], minval=-1.0, maxval=1.0)
    assert load_size(256) == 286 and load_size(64) == 71
    crops = []
    for seed in range(8):
        x, y = jitter(image, image, 64, tf.constant([seed, 0], tf.int64))
        assert x.shape == (64, 64, 3)
        np.testing.assert_array_equal(x, y)
        crops.append(x.numpy())
    again, _ = jitter(image, image, 64, tf.constant([3, 0], tf.int64))
    np.testing.assert_array_equal(again, crops[3])
    assert len({c.tobytes() for c in crops}) > 4  # different seeds, different crops


def test_ab_pairs_are_aligned_after_jitter(tmp_path: Path, cat_faces: Path) -> None:
    write_ab_faces(tmp_path / "ab", cat_faces, 6, same=True)  # A == B
    assert count_pair_images(tmp_path / "ab") == 6
    batches = list(ab_pairs_dataset(tmp_path / "ab", 64, batch_size=4, seed=0))
    assert len(batches) == 1  # 6 files, drop_remainder
    x, y = batches[0]
    assert_pair_batch(x, y, (4, 64, 64, 3))
    np.testing.assert_array_equal(x, y)  # one crop, one mirror for both


def test_ab_training_false_is_unjittered_sorted_and_keeps_the_last_batch(
        tmp_path: Path, cat_faces: Path) -> None:
    paths = write_ab_faces(tmp_path / "ab", cat_faces, 5)
    for direction in ("AtoB", "BtoA"):
        dataset = ab_pairs_dataset(tmp_path / "ab", 64, 2, seed=7, direction=direction,
                                   training=False)
        batches = as_arrays(dataset)
        assert [len(x) for x, _ in batches] == [2, 2, 1]
        inputs = np.concatenate([x for x, _ in batches])
        targets = np.concatenate([y for _, y in batches])
        for i, path in enumerate(paths):  # in sorted order, pixel for pixel
            ab = np.asarray(Image.open(path))
            a, b = (ab[:, :64], ab[:, 64:]) if direction == "AtoB" else (ab[:, 64:], ab[:, :64])
            np.testing.assert_array_equal(to_uint8(inputs[i]), a)
            np.testing.assert_array_equal(to_uint8(targets[i]), b)
        again = as_arrays(dataset)
        for (x1, y1), (x2, y2) in zip(batches, again, strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)


def test_same_seed_and_epoch_replay_and_another_epoch_reorders(tmp_path: Path) -> None:
    expected = write_ab_levels(tmp_path / "flat", 12)

    def order(seed: int, epoch: int) -> list[int]:
        return levels(ab_pairs_dataset(tmp_path / "flat", 16, 3, seed=seed, epoch=epoch))

    assert sorted(order(0, 0)) == expected
    assert order(0, 0) == order(0, 0)
    assert order(0, 1) != order(0, 0) and order(1, 0) != order(0, 0)
    unshuffled = ab_pairs_dataset(tmp_path / "flat", 16, 3, seed=5, epoch=3, training=False)
    assert levels(unshuffled) == expected


def test_same_seed_and_epoch_replay_the_same_crops(tmp_path: Path, cat_faces: Path) -> None:
    write_ab_faces(tmp_path / "ab", cat_faces, 8)

    def batches(epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return as_arrays(ab_pairs_dataset(tmp_path / "ab", 64, 4, seed=3, epoch=epoch))

    first = batches(2)
    for (x1, y1), (x2, y2) in zip(first, batches(2), strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first[0][0], batches(1)[0][0])


@needs_photos
def test_edge_pairs_at_full_size(tmp_path: Path) -> None:
    photos = link_photos(tmp_path / "photos", 3)
    x, y = next(iter(edge_pairs_dataset(photos, batch_size=2, seed=0)))  # 256 px
    assert_pair_batch(x, y, (2, 256, 256, 3))
    white = (x.numpy() == 1.0).mean()
    assert 0.7 < white < 0.995  # a sketch: mostly white, some lines


@needs_photos
def test_edge_pairs_replay_by_seed_and_epoch(tmp_path: Path) -> None:
    photos = link_photos(tmp_path / "photos", 6)

    def batches(epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return as_arrays(edge_pairs_dataset(photos, 64, 2, seed=1, epoch=epoch))

    first = batches(0)
    assert len(first) == 3
    assert_pair_batch(tf.constant(first[0][0]), tf.constant(first[0][1]), (2, 64, 64, 3))
    for (x1, y1), (x2, y2) in zip(first, batches(0), strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first[0][1], batches(1)[0][1])


@needs_photos
def test_edge_pairs_without_training_are_the_sketch_of_the_resized_photo(tmp_path: Path) -> None:
    photos = link_photos(tmp_path / "photos", 3)
    dataset = edge_pairs_dataset(photos, 64, 3, seed=0, training=False)
    x, y = (t.numpy() for t in next(iter(dataset)))
    for sketch, photo in zip(x, y, strict=True):
        np.testing.assert_array_equal(to_uint8(sketch), edge_sketch(to_uint8(photo)))
    np.testing.assert_array_equal(x, next(iter(dataset))[0])


def test_edge_pairs_stay_aligned_under_jitter(tmp_path: Path) -> None:
    photo = np.full((80, 100, 3), 230, np.uint8)  # centre-cropped to columns 10..89
    photo[20:50, 25:55] = 30  # an off-centre dark square: a wrong mirror would miss it
    (tmp_path / "photos").mkdir()
    for i in range(4):
        Image.fromarray(photo).save(tmp_path / "photos" / f"square_{i}.png")
    for x, y in edge_pairs_dataset(tmp_path / "photos", 64, 4, seed=0):
        for sketch, target in zip(x.numpy(), y.numpy(), strict=True):
            lines = sketch[..., 0] < 0.0  # (S, S) bool
            dark = (target[..., 0] < 0.0).astype(np.uint8)
            # XDoG draws on the dark side, a few px in (more after the jitter's upscale); a wrong
            # mirror or crop would put the lines 20+ px away
            ring = cv2.morphologyEx(dark, cv2.MORPH_GRADIENT, np.ones((9, 9), np.uint8)) > 0
            assert lines.any() and not (lines & ~ring).any()  # lines on the square's outline


def test_unreadable_files_are_skipped_and_bad_folders_refused(tmp_path: Path) -> None:
    write_ab_levels(tmp_path / "flat" / "nested", 3)
    (tmp_path / "flat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (tmp_path / "flat" / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((8, 16), np.uint8)).save(tmp_path / "flat" / "grey.bmp")
    assert count_pair_images(tmp_path / "flat") == 5
    assert len(list(ab_pairs_dataset(tmp_path / "flat", 8, 1, training=False))) == 4
    assert len(list(edge_pairs_dataset(tmp_path / "flat", 8, 1, training=False))) == 4
    with pytest.raises(FileNotFoundError):
        ab_pairs_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        edge_pairs_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="direction"):
        ab_pairs_dataset(tmp_path / "flat", direction="sideways")


def colour_photos(directory: Path, count: int) -> Path:
    """Write count 80 x 100 photos of saturated colour blocks, an off-centre dark square in each."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        photo = np.zeros((80, 100, 3), np.uint8)
        photo[:40] = np.roll([230, 40, 40], i)  # red, then green, then blue: far from grey
        photo[40:] = np.roll([40, 60, 220], i)
        photo[20:50, 25:55] = 10  # near black: dark in the grey input and in every channel
        Image.fromarray(photo).save(directory / f"colour_{i}.png")
    return directory


def test_grey_photo_is_the_luma_in_three_equal_channels() -> None:
    photo = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [90, 90, 90]]], np.uint8)  # (1, 4, 3)
    grey = grey_photo(tf.constant(photo)).numpy()
    assert grey.dtype == np.uint8 and grey.shape == (1, 4, 3)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    np.testing.assert_array_equal(grey[0, :, 0], [76, 150, 29, 90])  # 0.299 R + 0.587 G + 0.114 B
    np.testing.assert_array_equal(grey_photo(tf.constant(grey)).numpy(), grey)  # grey stays as it is


def test_grey_pairs_are_grey_inputs_of_their_colour_targets(tmp_path: Path) -> None:
    photos = colour_photos(tmp_path / "photos", 3)
    x, y = (to_uint8(t.numpy()) for t in next(iter(grey_pairs_dataset(photos, 64, 3, seed=0, training=False))))
    for grey, colour in zip(x, y, strict=True):
        assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 0] == grey[..., 2]).all()  # R == G == B
        assert np.abs(colour.astype(int) - colour[..., :1]).max() > 100  # the target keeps its colour
        np.testing.assert_array_equal(grey, grey_photo(tf.constant(colour)).numpy())  # of this very photo


def test_grey_pairs_stay_aligned_under_jitter_and_replay_by_seed(tmp_path: Path) -> None:
    photos = colour_photos(tmp_path / "photos", 4)

    def batches(epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return as_arrays(grey_pairs_dataset(photos, 64, 4, seed=2, epoch=epoch))

    first = batches(0)
    for x, y in first:
        assert_pair_batch(tf.constant(x), tf.constant(y), (4, 64, 64, 3))
        for grey, colour in zip(x, y, strict=True):
            assert np.abs(grey[..., 0] - grey[..., 2]).max() < 1e-6  # still grey after the jitter
            # one crop and mirror for both: the input is the target's luma pixel for pixel (up to the
            # uint8 rounding before the jitter); a crop or mirror of its own would miss by far more
            luma = colour @ np.array([0.299, 0.587, 0.114], np.float32)  # (S, S), linear like the resize
            assert np.abs(grey[..., 0] - luma).max() < 2 / 127.5
    for (x1, y1), (x2, y2) in zip(first, batches(0), strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(first[0][1], batches(1)[0][1])
