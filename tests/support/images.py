"""Test data builders: small images and archives made on the spot."""

from __future__ import annotations

import io
import tarfile
import zipfile
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


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
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
