"""Labelled image folders (one sub-folder per class) as tf.data pipelines of (images, labels).

    root/ginger/*.png   -> label 0
    root/tabby/*.jpg    -> label 1   (label ids follow the sorted class names)

A class is a direct sub-folder of root holding at least one image (searched recursively, as
gans.data.list_images does); files directly in root, hidden folders and empty folders are not
classes. Batches are (images (B, S, S, C) float32 in [-1, 1], labels (B,) int32), read with
gans.data.load_image; a file that fails to decode is skipped. As with
gans.data.image_folder_dataset, the order depends only on (seed, epoch), so a resumed run replays
exactly the batches an uninterrupted one would have seen.

The held-out split (gans.holdout) is decided once for the whole folder, over all its image files,
as for an unlabelled folder: training batches never read a held-out file, and the quality sample
reads the held-out files when the folder holds any out (else the training files). A class keeps
its label id even when all of its few images are held out; it is then only never trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import tensorflow as tf

from gans.configs.cgan import MIN_CLASSES
from gans.data import list_images, load_image
from gans.errors import DatasetError
from gans.holdout import split_folder

Part = Literal["train", "quality", "all"]  # training files; held-out (else training) files; every file

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


def labelled_files(directory: str | Path, classes: Sequence[str] | None = None,
                   part: Part = "all") -> tuple[list[str], list[int]]:
    """Return (paths, labels) of part, sorted by class then path; label i is classes[i].

    Args:
        classes: the class names in label order; None reads them with class_names(directory).
            A named class without images raises DatasetError, so ids cannot silently shift.
        part: "train" leaves out the held-out split, "quality" keeps only it (all files when the
            folder holds none out), "all" keeps every file.
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
    return _keep_part(directory, paths, labels, part)


def _keep_part(directory: str | Path, paths: list[str], labels: list[int],
               part: Part) -> tuple[list[str], list[int]]:
    """Keep the (path, label) pairs of part, by the split of the whole folder (gans.holdout)."""
    if part == "all":
        return paths, labels
    held = set(split_folder(directory).held_out)
    if part == "quality" and not held & set(paths):
        return paths, labels  # nothing held out (a small folder): judge by the training images
    keep = [i for i, path in enumerate(paths) if (path in held) == (part == "quality")]
    return [paths[i] for i in keep], [labels[i] for i in keep]


def count_labelled_training(directory: str | Path, classes: Sequence[str] | None = None) -> int:
    """Return how many files labelled_dataset reads per epoch (a listing and hashes, no decoding)."""
    return len(labelled_files(directory, classes, part="train")[0])


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
    paths, labels = labelled_files(directory, classes, part="train")
    if not paths:
        raise DatasetError(f"every image of {directory} is held out; add images to train on")
    if epoch is None:
        files = _files(paths, labels).shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    else:
        # NumPy's generator, not TensorFlow's: the order must not depend on TF's global seed.
        files = _files(paths, labels, np.random.default_rng([seed, epoch]).permutation(len(paths)))
    examples = _decode(files, image_size, channels)
    return examples.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def labelled_sample(directory: str | Path, image_size: int, count: int, seed: int,
                    channels: int = 1, *,
                    classes: Sequence[str] | None = None,
                    part: Part = "quality") -> tuple[np.ndarray, np.ndarray]:
    """Return a fixed random draw of count examples of part across classes, for quality measures.

    Returns (images (N, S, S, C) float32 in [-1, 1], labels (N,) int32); N < count only when
    part has fewer decodable images. The classes appear in their data proportions. The default
    part is the held-out split (the training files when there is none); "train" gives the
    real-vs-real floor's other set.
    """
    paths, labels = labelled_files(directory, classes, part)
    order = np.random.default_rng([seed, SAMPLE_STREAM]).permutation(len(paths))
    images, ids = [], []
    for image_batch, label_batch in _decode(_files(paths, labels, order), image_size,
                                            channels).take(count).batch(256):
        images.append(image_batch.numpy())
        ids.append(label_batch.numpy())
    if not images:
        return np.zeros((0, image_size, image_size, channels), np.float32), np.zeros((0,), np.int32)
    return np.concatenate(images), np.concatenate(ids)
