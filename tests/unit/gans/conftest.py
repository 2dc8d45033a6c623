"""Fixtures for the gans tests: small image folders made on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_images(directory: Path, count: int, size: int = 40, seed: int = 0) -> list[Path]:
    """Write count random RGB PNGs of size x size into directory and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        # A smooth colour gradient plus noise: something a GAN can start to fit.
        base = np.linspace(0, 255, size, dtype=np.float32)[None, :, None] * rng.uniform(0, 1, 3)
        pixels = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        path = directory / f"img_{i:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """Return a folder of 20 random 40x40 PNGs: 2 full batches of 8 (4 images left over)."""
    directory = tmp_path / "images"
    write_images(directory, 20)
    return directory
