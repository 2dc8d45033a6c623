"""Unpack uploaded zip/tar archives safely and take stock of the images in a folder."""

from __future__ import annotations

import hashlib
import shutil
import stat
import tarfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from PIL import Image, UnidentifiedImageError

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
# What TensorFlow decodes natively; other valid images are converted to PNG on upload.
NATIVE_FORMATS = frozenset({"JPEG", "PNG", "BMP", "GIF"})
MAX_IMAGE_PIXELS = 64_000_000  # larger images are skipped, never decoded (decompression bombs)


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int
    max_bytes: int


@dataclass(frozen=True)
class ImageScan:
    image_count: int
    skipped_count: int
    total_bytes: int
    content_hash: str


def extract_archive(archive: Path, target: Path, limits: ArchiveLimits) -> int:
    """Unpack the image files of a zip or tar into `target`; return how many entries were skipped.

    Raises:
        UnsupportedMediaType: neither a zip nor a tar.
        InvalidInput: corrupt archive, or a member path that leaves the target.
        PayloadTooLarge: more files or bytes than `limits` allow.
    """
    target.mkdir(parents=True, exist_ok=True)
    kind = archive_kind(archive)
    if kind is None:
        raise UnsupportedMediaType("the upload is neither a zip nor a tar archive of images",
                                   fields={"file": ["Expected a zip or tar archive."]})
    try:
        if kind == "zip":
            return _extract_zip(archive, target, limits)
        return _extract_tar(archive, target, limits)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InvalidInput(f"the archive is corrupt or truncated ({exc}); upload a valid zip or tar",
                           code="invalid_archive", fields={"file": ["Corrupt archive."]}) from exc


COMPRESSED_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def archive_kind(path: Path) -> str | None:
    """"zip" or "tar" by the file's magic bytes (so a truncated archive is still recognised), else None."""
    with path.open("rb") as fh:
        head = fh.read(265)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(COMPRESSED_TAR_MAGIC) or head[257:262] == b"ustar":
        return "tar"
    return None


def _safe_member_path(name: str) -> PurePosixPath:
    """Refuse absolute paths and `..` so nothing lands outside the target (zip slip)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"archive member {name!r} has an unsafe path", code="unsafe_archive",
                           fields={"file": [f"Unsafe member path: {name}"]})
    return path


class _Budget:
    """Counts files and bytes actually written, against the limits (headers can lie)."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits, self.files, self.bytes = limits, 0, 0

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise PayloadTooLarge(f"the archive holds more than {self.limits.max_files} files")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise PayloadTooLarge(f"the archive unpacks to more than {self.limits.max_bytes} bytes")


def _copy_member(source: IO[bytes], destination: Path, budget: _Budget) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("wb") as out:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            budget.add_bytes(len(chunk))
            out.write(chunk)


def _extract_zip(archive: Path, target: Path, limits: ArchiveLimits) -> int:
    budget, skipped = _Budget(limits), 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = _safe_member_path(info.filename)
            file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool recorded no type
            if file_type not in (0, stat.S_IFREG) or member.suffix.lower() not in IMAGE_SUFFIXES:
                skipped += 1  # symlinks, devices and non-images are never written
                continue
            budget.add_file()
            with zf.open(info) as source:
                _copy_member(source, target.joinpath(*member.parts), budget)
    return skipped


def _extract_tar(archive: Path, target: Path, limits: ArchiveLimits) -> int:
    budget, skipped = _Budget(limits), 0
    with tarfile.open(archive) as tf:
        for info in tf:
            if info.isdir():
                continue
            member = _safe_member_path(info.name)
            if not info.isreg() or member.suffix.lower() not in IMAGE_SUFFIXES:
                skipped += 1
                continue
            budget.add_file()
            source = tf.extractfile(info)
            assert source is not None
            _copy_member(source, target.joinpath(*member.parts), budget)
    return skipped


def image_files(folder: Path) -> list[Path]:
    """Image-looking files under `folder`, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _image_format(path: Path) -> str | None:
    """The Pillow format of a readable image, or None for corrupt, bomb or non-image files."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    return None
                img.verify()
                return img.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        return None


def scan_images(folder: Path, *, prune: bool = False) -> ImageScan:
    """Count readable images, their bytes and a content hash; with `prune`, delete or convert the rest."""
    digest, count, skipped, total = hashlib.sha256(), 0, 0, 0
    for path in image_files(folder):
        fmt = _image_format(path)
        if fmt is None:
            skipped += 1
            if prune:
                path.unlink()
            continue
        if prune and fmt not in NATIVE_FORMATS:
            path = _convert_to_png(path)
        data = path.read_bytes()
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(data).digest())
        count, total = count + 1, total + len(data)
    return ImageScan(count, skipped, total, digest.hexdigest())


def _convert_to_png(path: Path) -> Path:
    """Re-save an image TensorFlow cannot decode (e.g. WebP) as PNG."""
    png = path.with_suffix(".png")
    with Image.open(path) as img:
        img.convert("RGB").save(png, format="PNG")
    if png != path:
        path.unlink()
    return png


def remove_tree(path: Path) -> None:
    """Delete a directory tree if it exists."""
    shutil.rmtree(path, ignore_errors=True)
