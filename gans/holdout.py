"""A dataset's fixed held-out split, by content hash (TF-free): the images quality is measured against.

Rule: a folder of at least HOLDOUT_MIN_IMAGES (100) images holds out 10% of them (rounded down), at
most HOLDOUT_MAX (1,000): the files whose sha256 (of their bytes) are the lowest, ties by path. The
split depends only on the files' contents, not their names or order, so renaming or re-uploading
the same images keeps it. A training file whose bytes equal a held-out one's (a duplicate) is held
out too, so no held-out picture is ever trained on. Smaller folders hold nothing out (quality is
then measured against the training images, and no floor is reported).

No manifest is written: dataset folders may be read-only server-side folders, and hashing is cheap
(2,335 64-px JPEGs: ~0.2 s); a process keeps each file's hash by (path, size, mtime) instead.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# What tf.io.decode_image can read; other files (webp, tiff, text...) are not listed at all.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp"})
HOLDOUT_FRACTION = 0.10
HOLDOUT_MAX = 1000
HOLDOUT_MIN_IMAGES = 100
_CHUNK = 1024 * 1024
_hashes: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 hex


@dataclass(frozen=True)
class Split:
    """A folder's images, sorted by path: those trained on and those held out."""

    train: tuple[str, ...]
    held_out: tuple[str, ...]


def list_image_files(directory: str | Path) -> list[str]:
    """Return the decodable image files under directory, recursively, in sorted order (hidden files left out)."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    paths = []
    for parent, _dirs, files in os.walk(root):
        paths += [os.path.join(parent, f) for f in files
                  if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS and not f.startswith(".")]
    return sorted(paths)  # sorted: the shuffle, not the file system, decides the order


def holdout_size(count: int) -> int:
    """Return how many of count images are held out: 10% (rounded down) up to 1,000, none below 100 images."""
    if count < HOLDOUT_MIN_IMAGES:
        return 0
    return min(HOLDOUT_MAX, int(count * HOLDOUT_FRACTION))


def file_sha256(path: str) -> str:
    """Return the hex sha256 of a file's bytes, remembered by (path, size, mtime)."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):  # noqa: B023 - consumed within the iteration
                digest.update(chunk)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def split_paths(paths: list[str]) -> Split:
    """Split image files by the rule in the module docstring."""
    hashes = {p: file_sha256(p) for p in paths}
    ranked = sorted(paths, key=lambda p: (hashes[p], p))
    held_hashes = {hashes[p] for p in ranked[:holdout_size(len(paths))]}
    held = tuple(sorted(p for p in paths if hashes[p] in held_hashes))
    train = tuple(sorted(p for p in paths if hashes[p] not in held_hashes))
    return Split(train=train, held_out=held)


def split_folder(directory: str | Path) -> Split:
    """Return the split of the image files under directory (see the module docstring)."""
    return split_paths(list_image_files(directory))
