"""Decode once: an image folder that fits in memory is decoded and resized once per run, then each epoch is
drawn from memory.

gans.data.image_folder_dataset decodes every file again every epoch. Inside `decode_once()` (the trainer
opens it around a run), `epoch_batches` keeps the folder's training images as one uint8 tensor
(N, S, S, C) when they fit in `limit_bytes`, and serves epoch k as the same (seed, k) permutation of the
files, corrupt files skipped, batched and cast to [-1, 1] per batch: exactly the batches the streaming
path yields, in the same order, so a run resumed mid-epoch replays them either way. A larger folder, or
a call outside a run, streams as before. `remembered` keeps other fixed real-image sets (the quality
figures' real set) for the run the same way.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import tensorflow as tf

from gans.data import epoch_order, image_folder_dataset, load_image_uint8, to_unit_range, training_paths

MEMORY_LIMIT_BYTES = 1 << 30  # 1 GiB of uint8 pixels: ~87,000 images at 64 px, ~21,800 at 128 px
DECODE_BATCH = 256  # files decoded per tf.data batch while filling the memory copy


@dataclass
class DecodedFolder:
    """A folder's training images decoded once: rows of `images` and, per file, its row (-1: undecodable)."""

    images: tf.Tensor  # (N, S, S, C) uint8, N = the files that decoded, in sorted file order
    rows: np.ndarray  # (files,) int64: file i's row in images, -1 when it failed to decode


@dataclass
class _Scope:
    """What one run keeps decoded, and its budget."""

    limit_bytes: int
    folders: dict[tuple[tuple[str, ...], int, int], DecodedFolder | None] = field(default_factory=dict)
    values: dict[Hashable, object] = field(default_factory=dict)  # see remembered()


T = TypeVar("T")
_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("decode_once", default=None)


@contextlib.contextmanager
def decode_once(limit_bytes: int = MEMORY_LIMIT_BYTES) -> Iterator[None]:
    """Within this block, folders of at most limit_bytes of uint8 pixels are decoded once and kept."""
    token = _SCOPE.set(_Scope(limit_bytes))
    try:
        yield
    finally:
        _SCOPE.reset(token)  # the decoded images go with the run


def epoch_batches(directory: str | Path, image_size: int, batch_size: int, seed: int, epoch: int,
                  channels: int = 3) -> tf.data.Dataset:
    """Return 0-based epoch's batches (B, S, S, C) float32 in [-1, 1]: from memory when the folder fits there
    inside decode_once(), else streamed by gans.data.image_folder_dataset. Same batches either way."""
    decoded = _decoded(directory, image_size, channels)
    if decoded is None:
        return image_folder_dataset(directory, image_size, batch_size, seed, channels, epoch=epoch)
    return memory_dataset(decoded, batch_size, seed, epoch)


def memory_dataset(decoded: DecodedFolder, batch_size: int, seed: int, epoch: int) -> tf.data.Dataset:
    """Return epoch's batches of a decoded folder: the (seed, epoch) file order less the undecodable files."""
    order = epoch_order(len(decoded.rows), seed, epoch)
    rows = decoded.rows[order]
    rows = rows[rows >= 0]  # as ignore_errors() drops a corrupt file where the stream reaches it
    images = decoded.images  # captured by reference: the dataset holds no copy of the pixels
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(batch_size, drop_remainder=True)
    return batches.map(lambda r: to_unit_range(tf.gather(images, r))).prefetch(tf.data.AUTOTUNE)


def decode_folder(directory: str | Path, image_size: int, channels: int = 3) -> DecodedFolder:
    """Decode and resize every training image of directory once, in sorted file order (corrupt ones noted)."""
    paths = training_paths(directory)
    files = tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), paths))
    decoded = files.map(lambda i, p: (i, load_image_uint8(p, image_size, channels)),
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    indices, parts = [], []
    for index, images in decoded.batch(DECODE_BATCH):
        indices.append(index.numpy())
        parts.append(images)
    rows = np.full(len(paths), -1, dtype=np.int64)
    if not parts:
        return DecodedFolder(tf.zeros((0, image_size, image_size, channels), tf.uint8), rows)
    found = np.concatenate(indices)
    rows[found] = np.arange(len(found))
    return DecodedFolder(tf.concat(parts, axis=0), rows)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """Return compute(), computed once per decode_once() block for key (every call outside one).

    For what a run reads of its real images again and again and that never changes during it: the fixed
    real set of the quality figures and the collapse guard's sheets.
    """
    scope = _SCOPE.get()
    if scope is None:
        return compute()
    if key not in scope.values:
        scope.values[key] = compute()
    return scope.values[key]  # type: ignore[return-value]


def _decoded(directory: str | Path, image_size: int, channels: int) -> DecodedFolder | None:
    """Return the run's decoded copy of the folder (decoding it on first use), or None to stream."""
    scope = _SCOPE.get()
    if scope is None:
        return None
    key = (tuple(training_paths(directory)), image_size, channels)
    if key not in scope.folders:
        fits = len(key[0]) * image_size * image_size * channels <= scope.limit_bytes
        scope.folders[key] = decode_folder(directory, image_size, channels) if fits else None
    return scope.folders[key]
