"""Write scikit-learn's bundled 8x8 digits as a labelled dataset: OUT/0 ... OUT/9 of grey PNGs.

    python scripts/make_digits.py OUT [--size 28]

A demo set for the conditional GAN (gans.cgan) that needs no download: load_digits() ships
inside scikit-learn (1,797 images, ~180 per digit, 16 grey levels). Each image is scaled to
0..255 (white digit on black, like MNIST) and enlarged to --size with bicubic resampling.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

MAX_LEVEL = 16  # load_digits' pixel values are 0..16


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the class folders to")
    parser.add_argument("--size", type=int, default=28, help="side of the PNGs (default 28)")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")
    return args


def to_png_pixels(image: np.ndarray, size: int) -> Image.Image:
    """Return one 8x8 digit (values 0..16) as a size x size grey PIL image."""
    pixels = np.round(image * (255.0 / MAX_LEVEL)).astype(np.uint8)  # (8, 8)
    return Image.fromarray(pixels, mode="L").resize((size, size), Image.Resampling.BICUBIC)


def main(argv: list[str] | None = None) -> int:
    """Write the digits; return the exit status."""
    args = parse_args(argv)
    digits = load_digits()
    counts = np.zeros(10, dtype=int)
    for index, (image, target) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = args.out / str(target)
        folder.mkdir(parents=True, exist_ok=True)
        to_png_pixels(image, args.size).save(folder / f"{index:04d}.png")
        counts[target] += 1
    print(f"wrote {counts.sum()} digits to {args.out} ({', '.join(map(str, counts))} per class)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
