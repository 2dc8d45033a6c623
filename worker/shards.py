"""Zip shards of a bulk job: stored (PNG/JPEG do not compress further), byte-reproducible, with a manifest.

Shard k holds the images with index in [k * shard_size, (k + 1) * shard_size), in index order,
then `manifest.jsonl`: one JSON object per image saying where it came from.
"""

from __future__ import annotations

import json
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.services.artifacts import SHARD_MANIFEST
from core.storage import atomic_output

MANIFEST = SHARD_MANIFEST
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp keeps an archive's bytes reproducible


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # first image index
    stop: int  # one past the last

    @property
    def file_name(self) -> str:
        return f"images-{self.index:05d}.zip"


def plan_shards(count: int, shard_size: int) -> list[Shard]:
    """The shards of a job of `count` images."""
    return [Shard(k, start, min(start + shard_size, count)) for k, start in enumerate(range(0, count, shard_size))]


def zip_member(name: str) -> zipfile.ZipInfo:
    """A member header with fixed time and permissions, so the same content gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


class ShardWriter:
    """Writes one shard to a temporary file; `close()` renames it into place, `abort()` drops it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stack = ExitStack()
        handle: BinaryIO = self._stack.enter_context(atomic_output(path))
        self._zip = self._stack.enter_context(zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED))
        self._manifest: list[str] = []
        self._closed = False

    def add(self, name: str, data: bytes, provenance: dict[str, Any]) -> None:
        """Append one image and its manifest line."""
        self._zip.writestr(zip_member(name), data)
        self._manifest.append(json.dumps({"file": name, **provenance}, sort_keys=True))

    @property
    def count(self) -> int:
        return len(self._manifest)

    def close(self) -> None:
        """Write the manifest and publish the shard atomically (again: nothing more to do)."""
        if self._closed:
            return
        self._zip.writestr(zip_member(MANIFEST), "".join(line + "\n" for line in self._manifest))
        self._stack.close()
        self._closed = True

    def abort(self) -> None:
        """Discard the partial shard (a published one stays)."""
        if self._closed:
            return
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)
        self._closed = True


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The manifest lines of a finished shard."""
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read(MANIFEST).decode().splitlines() if line]
