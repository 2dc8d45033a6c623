"""Tar archives with hostile extended headers, streamed to disk so the test process never holds the header."""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.support.images import image_bytes

BLOCK = tarfile.BLOCKSIZE
CHUNK = 1024 * 1024
OPENERS = {"": open, "gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}
LONG_NAME = "cats/" + "/".join(["d" * 60] * 5) + "/a-cat-with-a-long-name.png"  # 343 characters, past ustar's 255


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def header_block(name: str, kind: bytes, size: int) -> bytes:
    """One 512-byte ustar header block declaring `kind` and `size`."""
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def _repeated(byte: bytes, count: int) -> Iterator[bytes]:
    while count > 0:
        yield byte * min(count, CHUNK)
        count -= CHUNK


def pax_header(size: int, key: str = "comment", kind: bytes = tarfile.XHDTYPE) -> Iterator[bytes]:
    """A PAX header block and one `key=...` record filling about `size` bytes, in chunks."""
    value = max(1, size - len(key) - 12)
    body = len(f" {key}=") + value + 1
    length = next(n for n in range(body + 1, body + 12) if n == body + len(str(n)))
    yield header_block("././@PaxHeader", kind, length)
    yield f"{length} {key}=".encode()
    yield from _repeated(b"x", value)
    yield b"\n" + _padding(length)


def gnu_long_name(size: int) -> Iterator[bytes]:
    """A GNU `././@LongLink` block declaring a file name of `size` bytes, and the name, in chunks."""
    yield header_block("././@LongLink", tarfile.GNUTYPE_LONGNAME, size)
    yield from _repeated(b"n", size - 5)
    yield b".png\0" + _padding(size)


def member(name: str, data: bytes, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    """A regular member's header blocks (PAX or GNU ones too when `fmt` says so and the name needs them) and data."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(fmt, "utf-8", "strict") + data + _padding(len(data))


def write_tar(path: Path, parts: Iterable[bytes], compression: str = "gz") -> Path:
    """Stream `parts` and the end-of-archive blocks into `path`, compressed as told ("", gz, bz2, xz)."""
    with OPENERS[compression](path, "wb") as out:
        for part in parts:
            out.write(part)
        out.write(b"\0" * 2 * BLOCK)
    return path


def huge_header_tar(path: Path, kind: str, size: int, compression: str = "gz") -> Path:
    """A tar whose first member carries a `kind` ("pax", "global" or "gnu") extended header of `size` bytes."""
    headers = {"pax": lambda: pax_header(size), "global": lambda: pax_header(size, kind=tarfile.XGLTYPE),
               "gnu": lambda: gnu_long_name(size)}[kind]()
    return write_tar(path, itertools.chain(headers, [member("cat.png", image_bytes())]), compression)
