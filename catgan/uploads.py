"""Uploads that never hold a dataset in memory: a folder zipped to a temporary file, a streamed multipart body."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class MultipartBody:
    """multipart/form-data of text fields and one file, read in order; `len` lets requests send Content-Length.

    Not an io class on purpose: requests would call its tell(), fail, and send it as empty.
    """

    def __init__(self, file: BinaryIO, filename: str, fields: dict[str, str], boundary: str | None = None) -> None:
        self.boundary = boundary or f"catgan-{uuid.uuid4().hex}"  # a retry sends the same bytes with the same one
        head = b"".join(f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in fields.items())
        safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        size = os.fstat(file.fileno()).st_size
        self.len = len(head) + size + len(tail)
        self._parts: list[BinaryIO] = [io.BytesIO(head), file, io.BytesIO(tail)]

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative), crossing from part to part."""
        want = CHUNK * 64 if size is None or size < 0 else size
        out = b""
        while self._parts and len(out) < want:
            data = self._parts[0].read(want - len(out))
            if data:
                out += data
            else:
                self._parts.pop(0)
        return out


@contextmanager
def zipped_folder(folder: Path) -> Iterator[Path]:
    """A temporary zip of every file under `folder` (stored: images are compressed already); removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="catgan-upload-", suffix=".zip")
    os.close(handle)
    path = Path(name)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
                archive.write(file, file.relative_to(folder).as_posix())
        yield path
    finally:
        path.unlink(missing_ok=True)


def safe_extract(archive: Path, destination: Path) -> list[Path]:
    """Unpack a result zip into `destination`, refusing members that would land outside it."""
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    written = []
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            target = (root / member.filename).resolve()
            if not target.is_relative_to(root) or target == root:
                raise ValueError(f"the archive member {member.filename!r} would land outside {destination}")
            if member.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as source, target.open("wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
            written.append(target)
    return written
