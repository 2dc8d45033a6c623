"""Labelled image folders (one sub-folder per class) as tf.data pipelines of (images, labels).

    root/ginger/*.png   -> label 0
    root/tabby/*.jpg    -> label 1   (label ids follow the sorted class names)

A class is a direct sub-folder of root holding at least one image (searched recursively, as
gans.data.list_images does); files directly in root, hidden folders and empty folders are not
classes. Batches are (images (B, S, S, C) float32 in [-1, 1], labels (B,) int32), read with
gans.data.load_image; a file that fails to decode is skipped. As with
gans.data.image_folder_dataset, the order depends only on (seed, epoch), so a resumed run replays
exactly the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from gans.configs.cgan import MIN_CLASSES
from gans.data import list_images, load_image
from gans.errors import DatasetError

# The permutation stream of labelled_sample: an "epoch" no run reaches, so the quality set is
# not the order of any training epoch.
SAMPLE_STREAM = 2**32 - 1


def count_labelled(directory: str | Path) -> dict[str, int]:
    """Return {class name: image count} for every sub-folder holding images, in sorted order.

    A listing, no decoding; unlike class_names it does not insist on two classes, so a caller
    can show the user what it found.

    Raises:
        FileNotFoundError: the folder does not exist.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    counts = {}
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if child.is_dir() and not child.name.startswith("."):
            count = len(list_images(child))
            if count:
                counts[child.name] = count
    return counts


def class_names(directory: str | Path) -> list[str]:
    """Return the sorted class names (sub-folders with images); label i is class_names[i].

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: fewer than two sub-folders hold images.
    """
    names = list(count_labelled(directory))
    if len(names) < MIN_CLASSES:
        raise DatasetError(f"a labelled dataset needs at least {MIN_CLASSES} class folders with images "
                         f"(root/<class>/*.jpg); {directory} has {len(names)}: {names}")
    return names


def labelled_files(directory: str | Path,
                   classes: Sequence[str] | None = None) -> tuple[list[str], list[int]]:
    """Return (paths, labels) sorted by class then path; label i is classes[i].

    Args:
        classes: the class names in label order; None reads them with class_names(directory).
            A named class without images raises DatasetError, so ids cannot silently shift.
    """
    classes = class_names(directory) if classes is None else list(classes)
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = Path(directory) / name
        found = list_images(folder) if folder.is_dir() else []
        if not found:
            raise DatasetError(f"class {name!r} has no images in {directory}")
        paths += found
        labels += [label] * len(found)
    return paths, labels


def _files(paths: list[str], labels: list[int], order: np.ndarray | None = None) -> tf.data.Dataset:
    """Return (path, label) pairs, permuted by order when given."""
    if order is not None:
        paths, labels = [paths[i] for i in order], [labels[i] for i in order]
    return tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))


def _decode(files: tf.data.Dataset, image_size: int, channels: int) -> tf.data.Dataset:
    """Map (path, label) to (image (S, S, C), label), keeping the order; bad files are skipped."""
    examples = files.map(lambda path, label: (load_image(path, image_size, channels), label),
                         num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return examples.ignore_errors()  # one corrupt file must not kill a day-long training run


def labelled_dataset(directory: str | Path, image_size: int, batch_size: int, seed: int,
                     channels: int = 1, *, epoch: int | None = None,
                     classes: Sequence[str] | None = None) -> tf.data.Dataset:
    """Return shuffled (images, labels) batches of a class-folder dataset; remainder dropped.

    Args:
        epoch: None reshuffles on every pass (deterministic given seed); an int fixes the order
            to NumPy's permutation of (seed, epoch), so a resumed run re-creates its batches.
        classes: the class names in label order (see labelled_files); None: class_names(directory).

    Raises:
        FileNotFoundError: the folder does not exist.
        DatasetError: fewer than two classes, or a named class without images.
    """
    paths, labels = labelled_files(directory, classes)
    if epoch is None:
        files = _files(paths, labels).shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    else:
        # NumPy's generator, not TensorFlow's: the order must not depend on TF's global seed.
        files = _files(paths, labels, np.random.default_rng([seed, epoch]).permutation(len(paths)))
    examples = _decode(files, image_size, channels)
    return examples.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def labelled_sample(directory: str | Path, image_size: int, count: int, seed: int,
                    channels: int = 1, *,
                    classes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return a fixed random draw of count examples across classes, for quality measures.

    Returns (images (N, S, S, C) float32 in [-1, 1], labels (N,) int32); N < count only when
    the folder has fewer decodable images. The classes appear in their data proportions.
    """
    paths, labels = labelled_files(directory, classes)
    order = np.random.default_rng([seed, SAMPLE_STREAM]).permutation(len(paths))
    images, ids = [], []
    for image_batch, label_batch in _decode(_files(paths, labels, order), image_size,
                                            channels).take(count).batch(256):
        images.append(image_batch.numpy())
        ids.append(label_batch.numpy())
    if not images:
        return np.zeros((0, image_size, image_size, channels), np.float32), np.zeros((0,), np.int32)
    return np.concatenate(images), np.concatenate(ids)
