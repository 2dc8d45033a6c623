"""Image folders as tf.data pipelines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gans.data import count_images, image_folder_dataset, list_images
from gans.errors import DatasetError


def _first_batch(dataset) -> np.ndarray:
    return next(iter(dataset)).numpy()


def test_batches_are_float_images_in_range(image_dir: Path) -> None:
    batches = list(image_folder_dataset(image_dir, image_size=32, batch_size=8, seed=0))
    assert len(batches) == 2  # 20 images, drop_remainder
    batch = batches[0].numpy()
    assert batch.shape == (8, 32, 32, 3) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.std() > 0.1


def test_lists_decodable_files_recursively(image_dir: Path) -> None:
    nested = image_dir / "more" / "deeper"
    nested.mkdir(parents=True)
    Image.fromarray(np.zeros((10, 20), np.uint8)).save(nested / "grey.JPG")  # grey, wide
    Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(nested / "alpha.png")  # RGBA
    (image_dir / "notes.txt").write_text("not an image")
    (image_dir / "cat.webp").write_bytes(b"RIFF....WEBP")  # tf cannot decode webp: not listed
    assert count_images(image_dir) == 22
    assert all(p.endswith((".png", ".JPG")) for p in list_images(image_dir))
    images = list(image_folder_dataset(image_dir, 16, batch_size=1, seed=0))
    assert len(images) == 22 and all(i.shape == (1, 16, 16, 3) for i in images)


def test_same_seed_same_order_and_reshuffled_each_pass(image_dir: Path) -> None:
    def passes(seed: int) -> list[np.ndarray]:
        dataset = image_folder_dataset(image_dir, 32, batch_size=8, seed=seed)
        return [np.concatenate([b.numpy() for b in dataset]) for _ in range(2)]

    first, second = passes(3), passes(3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])  # the reshuffles repeat too
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(passes(4)[0], first[0])


def test_fixed_epoch_order_is_reproducible_and_differs_by_epoch(image_dir: Path) -> None:
    def batch(epoch: int) -> np.ndarray:
        return _first_batch(image_folder_dataset(image_dir, 32, 8, seed=0, epoch=epoch))

    np.testing.assert_array_equal(batch(2), batch(2))
    assert not np.array_equal(batch(1), batch(2))


def test_corrupt_file_is_skipped(image_dir: Path) -> None:
    (image_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    assert count_images(image_dir) == 21
    images = list(image_folder_dataset(image_dir, 32, batch_size=1, seed=0))
    assert len(images) == 20


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        image_folder_dataset(tmp_path / "nope", 32, 8, seed=0)
    with pytest.raises(DatasetError, match="no image files"):
        image_folder_dataset(tmp_path, 32, 8, seed=0)
