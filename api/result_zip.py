"""One zip of a bulk job's results, streamed from its shards as it is sent (nothing built on disk).

`flat`: every image at the top level (plus one merged manifest.jsonl); the writer keeps a
central-directory entry per image, about half a kilobyte each, until the end of the response.
`shards`: the shard zips themselves: constant memory and a known Content-Length, for huge jobs.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import zipstream

from core.services.artifacts import SHARD_MANIFEST as MANIFEST


def flat_result(shards: list[Path], extras: dict[str, Path]) -> Iterator[bytes]:
    """The images of all shards in order, then the merged manifest, then `extras` (name → file)."""
    stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED)
    for shard in shards:
        with zipfile.ZipFile(shard) as archive:
            for info in archive.infolist():
                if info.filename != MANIFEST:
                    stream.add(_member(archive, info.filename), info.filename, size=info.file_size)
            yield from stream.all_files()  # while this shard is open
    stream.add(_manifests(shards), MANIFEST)
    for name, path in extras.items():
        stream.add_path(str(path), name)
    yield from stream.all_files()
    yield from stream.footer()


def shards_result(shards: list[Path], extras: dict[str, Path]) -> tuple[Iterator[bytes], int]:
    """The shard zips, then `extras`; with its exact length."""
    stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    for shard in shards:
        stream.add_path(str(shard), shard.name)
    for name, path in extras.items():
        stream.add_path(str(path), name)
    return iter(stream), len(stream)


def _member(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    yield archive.read(name)


def _manifests(shards: list[Path]) -> Iterator[bytes]:
    for shard in shards:
        with zipfile.ZipFile(shard) as archive:
            yield archive.read(MANIFEST)
