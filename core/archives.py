"""Unpack uploaded zip/tar archives safely and take stock of the images in a folder."""

from __future__ import annotations

import hashlib
import lzma
import shutil
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from PIL import Image, UnidentifiedImageError

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from core.tar_limits import DEFAULT_MAX_HEADER_BYTES, open_tar

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
# What TensorFlow decodes natively; other valid images are converted to PNG on upload.
NATIVE_FORMATS = frozenset({"JPEG", "PNG", "BMP", "GIF"})
MAX_IMAGE_PIXELS = 64_000_000  # larger images are skipped, never decoded (decompression bombs)
# Photos barely compress (JPEG and PNG are compressed already); deflate tops out near 1032:1 on zeros.
DEFAULT_MAX_RATIO = 200.0
RATIO_FLOOR_BYTES = 1024 * 1024  # below this, a file that compresses well is no bomb: ratios are not judged
ZIP_ENCRYPTED = 0x1  # general purpose flag bit 0


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int  # entries of any kind: files, folders, links
    max_bytes: int  # bytes decompressed, whether written or skipped over
    max_ratio: float = DEFAULT_MAX_RATIO  # decompressed : compressed, per zip member and for the whole archive
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES  # a tar member's PAX / GNU long-name headers, judged unread


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
        PayloadTooLarge: more entries or bytes than `limits` allow, a ratio above `limits.max_ratio`, or tar
            extended headers over `limits.max_header_bytes` (judged before they are read).
    """
    target.mkdir(parents=True, exist_ok=True)
    kind = archive_kind(archive)
    if kind is None:
        raise UnsupportedMediaType("the upload is neither a zip nor a tar archive of images",
                                   fields={"file": ["Expected a zip or tar archive."]})
    budget = _Budget(limits, archive.stat().st_size)
    try:
        if kind == "zip":
            return _extract_zip(archive, target, budget)
        return _extract_tar(archive, target, budget)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError,
            ValueError, NotImplementedError) as exc:  # NotImplementedError: unknown zip compression; ValueError:
        # undecodable names, numbers tarfile cannot parse
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
    """Counts entries and bytes actually decompressed, against the limits (headers can lie)."""

    def __init__(self, limits: ArchiveLimits, archive_bytes: int) -> None:
        self.limits, self.archive_bytes, self.entries, self.bytes = limits, archive_bytes, 0, 0

    def add_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            raise PayloadTooLarge(f"the archive holds more than {self.limits.max_files} files and folders")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise PayloadTooLarge(f"the archive unpacks to more than {self.limits.max_bytes} bytes")
        self.check_ratio("the archive", self.bytes, self.archive_bytes)

    def check_ratio(self, what: str, unpacked: int, packed: int) -> None:
        """Refuse a zip bomb early: far more bytes out than in."""
        if unpacked > RATIO_FLOOR_BYTES and unpacked > self.limits.max_ratio * max(packed, 1):
            raise PayloadTooLarge(f"{what} unpacks to more than {self.limits.max_ratio:g} times its compressed "
                                  "size (a zip bomb?); raise CATGAN_MAX_ARCHIVE_RATIO if it is genuine")


def _copy_member(source: IO[bytes], destination: Path, budget: _Budget, name: str, packed: int | None) -> None:
    """Copy one member, judging its ratio against its `packed` (compressed) size when the archive records one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    unpacked = 0
    with destination.open("wb") as out:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            unpacked += len(chunk)
            budget.add_bytes(len(chunk))
            if packed is not None:
                budget.check_ratio(f"member {name!r}", unpacked, packed)
            out.write(chunk)


def _count_zip_entries(archive: Path, stop_after: int) -> int:
    """The central directory's entries, counted from their headers (up to `stop_after` + 1), before ZipFile
    holds every one in memory: a 2 GiB upload can declare tens of millions."""
    # zipfile's own reading of the end record (zip64-aware); private names, unchanged since Python 2.6
    with archive.open("rb") as fh:
        end = zipfile._EndRecData(fh)
        if not end:
            raise zipfile.BadZipFile("no end-of-central-directory record")
        size = end[zipfile._ECD_SIZE]
        start = end[zipfile._ECD_LOCATION] - size  # where ZipFile looks, allowing for data before the zip
        if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        if start < 0:
            raise zipfile.BadZipFile("bad offset for the central directory")
        fh.seek(start)
        count, read = 0, 0
        while read < size and count <= stop_after:
            header = fh.read(zipfile.sizeCentralDir)
            if len(header) != zipfile.sizeCentralDir or not header.startswith(zipfile.stringCentralDir):
                break  # malformed: ZipFile will say how
            parts = struct.unpack(zipfile.structCentralDir, header)
            skip = sum(parts[i] for i in (zipfile._CD_FILENAME_LENGTH, zipfile._CD_EXTRA_FIELD_LENGTH,
                                          zipfile._CD_COMMENT_LENGTH))
            fh.seek(skip, 1)
            count, read = count + 1, read + zipfile.sizeCentralDir + skip
    return count


def _extract_zip(archive: Path, target: Path, budget: _Budget) -> int:
    skipped = 0
    if _count_zip_entries(archive, budget.limits.max_files) > budget.limits.max_files:
        raise PayloadTooLarge(f"the archive holds more than {budget.limits.max_files} files and folders")
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            budget.add_entry()
            if info.is_dir():
                continue
            member = _safe_member_path(info.filename)
            file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool recorded no type
            if (file_type not in (0, stat.S_IFREG) or member.suffix.lower() not in IMAGE_SUFFIXES
                    or info.flag_bits & ZIP_ENCRYPTED):
                skipped += 1  # symlinks, devices, non-images and encrypted files are never read nor written
                continue
            with zf.open(info) as source:
                _copy_member(source, target.joinpath(*member.parts), budget, info.filename, info.compress_size)
    return skipped


def _extract_tar(archive: Path, target: Path, budget: _Budget) -> int:
    skipped = 0
    with open_tar(archive, budget.limits.max_header_bytes) as tf:
        while (info := tf.next()) is not None:
            budget.add_entry()
            budget.add_bytes(info.offset_data - info.offset)  # its header blocks, extended headers included
            tf.members.clear()  # TarFile keeps every header it reads; we never look back, so hold none
            if info.isdir():
                continue
            member = _safe_member_path(info.name)
            if not info.isreg() or member.suffix.lower() not in IMAGE_SUFFIXES:
                skipped += 1  # links, devices, FIFOs and non-images are never written...
                if info.isreg():  # ...but a compressed tar decompresses them to skip them: count those bytes
                    budget.add_bytes(info.size)
                continue
            source = tf.extractfile(info)
            assert source is not None
            # a tar has no per-member compressed size; the whole-archive ratio (in add_bytes) stands for it
            _copy_member(source, target.joinpath(*member.parts), budget, info.name, None)
    return skipped


def image_files(folder: Path) -> list[Path]:
    """Image-looking files under `folder`, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _image_format(path: Path) -> str | None:
    """The Pillow format of a readable image, or None for corrupt, bomb or non-image files.

    The size is judged from the header before a pixel is decoded; then the image is decoded once, so a
    truncated or corrupt file is counted as skipped here rather than failing to decode during training.
    """
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS (~89 M) and raises above twice that. The warning is made an
        # error and caught here, and our smaller limit skips that band anyway: whatever the process's warning
        # filters are (pytest's "error", or a thread racing catch_warnings), such a file is skipped, never decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    return None
                fmt = img.format
                img.verify()  # PNG chunk CRCs; a verified image cannot be loaded, so decode a fresh one
            with Image.open(path) as img:
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))  # JPEG: 1/8 scale, faster
                img.load()
        return fmt
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    except Exception:  # noqa: BLE001 - decoders fail on hostile files in many ways (OSError, struct.error...)
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
            if path is None:
                skipped += 1
                continue
        data = path.read_bytes()
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(data).digest())
        count, total = count + 1, total + len(data)
    return ImageScan(count, skipped, total, digest.hexdigest())


def _convert_to_png(path: Path) -> Path | None:
    """Re-save an image TensorFlow cannot decode (e.g. WebP) as PNG; None (and the file removed) if that fails."""
    png = path.with_suffix(".png")
    if png != path and png.exists():  # cat.webp beside cat.png: keep both
        png = path.with_name(path.name + ".png")
    try:
        with Image.open(path) as img:
            img.convert("RGB").save(png, format="PNG")
    except Exception:  # noqa: BLE001 - a hostile file that decoded once may still fail to convert
        png.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        return None
    if png != path:
        path.unlink()
    return png


def remove_tree(path: Path) -> None:
    """Delete a directory tree if it exists."""
    shutil.rmtree(path, ignore_errors=True)
