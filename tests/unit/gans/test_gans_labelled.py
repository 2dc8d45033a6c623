"""Labelled class folders: class discovery, counts, batches, labels, order and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gans.errors import DatasetError
from gans.labelled import class_names, count_labelled, labelled_dataset, labelled_files, labelled_sample

# A grey level per class, far enough apart to tell the classes from the pixels after resizing.
GREYS = {"dark": 20, "mid": 128, "light": 235}


def write_class(root: Path, name: str, count: int, colour: int | tuple[int, int, int],
                size: int = 12) -> None:
    """Write count flat PNGs of one colour into root/name; pixel (0, 0) holds the image index."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        mode = "L" if isinstance(colour, int) else "RGB"
        image = Image.new(mode, (size, size), colour)
        image.putpixel((0, 0), i if mode == "L" else (i, i, i))  # makes every file distinct
        image.save(folder / f"{i:02d}.png")


@pytest.fixture
def grey_dir(tmp_path: Path) -> Path:
    """Return 3 classes of 5 flat grey images each: 15 images, 3 full batches of 4."""
    root = tmp_path / "greys"
    for name, grey in GREYS.items():
        write_class(root, name, 5, grey)
    return root


def test_class_names_are_sorted_folders_with_images(tmp_path: Path) -> None:
    write_class(tmp_path, "tabby", 2, 50)
    write_class(tmp_path, "ginger", 1, 90)
    write_class(tmp_path, ".hidden", 1, 90)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not an image")
    Image.new("L", (4, 4)).save(tmp_path / "loose.png")  # a file in root is not a class
    write_class(tmp_path / "tabby", "nested", 1, 50)  # sub-folders of a class count for it
    assert class_names(tmp_path) == ["ginger", "tabby"]
    assert count_labelled(tmp_path) == {"ginger": 1, "tabby": 3}


def test_one_class_is_not_enough_and_a_missing_folder_is_reported(tmp_path: Path) -> None:
    write_class(tmp_path, "only", 3, 10)
    assert count_labelled(tmp_path) == {"only": 3}  # counting does not judge
    with pytest.raises(DatasetError, match="at least 2 class folders"):
        class_names(tmp_path)
    with pytest.raises(FileNotFoundError):
        class_names(tmp_path / "missing")


def test_batches_hold_images_in_range_and_the_right_labels(grey_dir: Path) -> None:
    batches = list(labelled_dataset(grey_dir, image_size=8, batch_size=4, seed=0, epoch=0))
    assert len(batches) == 3  # 15 images, remainder dropped
    names = class_names(grey_dir)  # ["dark", "light", "mid"]
    for images, labels in batches:
        assert images.shape == (4, 8, 8, 1) and images.dtype.name == "float32"
        assert labels.shape == (4,) and labels.dtype.name == "int32"
        assert float(np.min(images)) >= -1.0 and float(np.max(images)) <= 1.0
        for image, label in zip(images.numpy(), labels.numpy(), strict=True):
            grey = GREYS[names[label]] / 127.5 - 1.0
            assert abs(float(np.median(image)) - grey) < 0.02


def test_colour_images_keep_their_channels(tmp_path: Path) -> None:
    colours = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
    for name, colour in colours.items():
        write_class(tmp_path, name, 3, colour)
    images, labels = next(iter(labelled_dataset(tmp_path, 8, 9, seed=1, channels=3, epoch=0)))
    assert images.shape == (9, 8, 8, 3)
    dominant = np.argmax(np.mean(images.numpy(), axis=(1, 2)), axis=-1)  # R=0, G=1, B=2
    assert [int(d) for d in dominant] == [(2, 1, 0)[int(y)] for y in labels]


def _epoch(directory: Path, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    batches = list(labelled_dataset(directory, 8, 4, seed=seed, epoch=epoch))
    return (np.concatenate([b[0].numpy() for b in batches]),
            np.concatenate([b[1].numpy() for b in batches]))


def test_order_depends_only_on_seed_and_epoch(grey_dir: Path) -> None:
    images, labels = _epoch(grey_dir, seed=3, epoch=2)
    again_images, again_labels = _epoch(grey_dir, seed=3, epoch=2)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)
    other_images, _ = _epoch(grey_dir, seed=3, epoch=3)
    assert not np.array_equal(images, other_images)


def test_unreadable_files_are_skipped(grey_dir: Path) -> None:
    (grey_dir / "mid" / "broken.png").write_bytes(b"not a png")
    paths, _ = labelled_files(grey_dir)
    assert len(paths) == 16
    _, labels = _epoch(grey_dir, seed=0, epoch=0)
    assert len(labels) == 12  # 15 decodable images -> 3 batches of 4


def test_given_classes_fix_the_label_ids(grey_dir: Path) -> None:
    paths, labels = labelled_files(grey_dir, classes=["mid", "dark"])  # "light" left out
    assert len(paths) == 10 and labels == [0] * 5 + [1] * 5
    assert all("/mid/" in p for p in paths[:5])
    with pytest.raises(DatasetError, match="class 'tabby' has no images"):
        labelled_files(grey_dir, classes=["dark", "tabby"])


def test_labelled_sample_is_a_fixed_mix_of_classes(grey_dir: Path) -> None:
    images, labels = labelled_sample(grey_dir, 8, 9, seed=4)
    assert images.shape == (9, 8, 8, 1) and labels.dtype == np.int32
    assert len(set(labels.tolist())) > 1
    again_images, again_labels = labelled_sample(grey_dir, 8, 9, seed=4)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)
    all_images, _ = labelled_sample(grey_dir, 8, 100, seed=4)
    assert len(all_images) == 15  # no more than there is
