"""Test data builders: small images and archives made on the spot."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def make_image(size: int = 32, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A smooth random image (blobs, not noise, so a GAN has something to learn)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR).convert(mode)


def image_bytes(size: int = 32, seed: int = 0, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    make_image(size, seed).save(buffer, format=fmt)
    return buffer.getvalue()


def write_images(folder: Path, count: int, size: int = 32, fmt: str = "PNG") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[fmt]
    paths = []
    for i in range(count):
        path = folder / f"img-{i:04d}{suffix}"
        path.write_bytes(image_bytes(size, i, fmt))
        paths.append(path)
    return paths


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of `members` (name → bytes), stored unless told to deflate."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def tar_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def image_zip(count: int, size: int = 32, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip of `count` PNGs plus any `extra` members."""
    members = {f"cats/cat-{i:03d}.png": image_bytes(size, i) for i in range(count)}
    return zip_of(members | (extra or {}))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny real PNG whose header claims `width` x `height` (a decompression bomb as far as a header tells)."""
    data = image_bytes(size=8)
    # the IHDR chunk follows the 8-byte signature: length (4), b"IHDR", width (4), height (4), 5 more bytes, CRC (4)
    body = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + body + struct.pack(">I", zlib.crc32(body)) + data[33:]
