"""Write an edges2cats folder in pix2pix's AB format (sketch left, photo right) from cat photos.

    python scripts/make_edges2cats.py PHOTOS OUT [--size 256] [--limit N] [--epsilon -0.01] ...

Each photo is centre-cropped to a square, resized to --size, and saved as OUT/<name>.png of
size x 2*size: A (gans.edges.edge_sketch of the resized photo) on the left, B (the photo) on
the right. Training does not need this step (gans.pairs.edge_pairs_dataset draws the sketches
on the fly); it is for inspecting pairs, or reusing them with other pix2pix code
(--which_direction AtoB). PNG, not JPEG: JPEG smears thin black lines into grey halos.
Sub-folders of PHOTOS are mirrored under OUT; unreadable files are reported and skipped.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from gans.edges import EdgeOptions, edge_sketch  # noqa: E402

# The formats gans.pairs reads (gans.data.IMAGE_EXTENSIONS), without importing TensorFlow.
PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp"})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    defaults = EdgeOptions()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of photos (searched recursively)")
    parser.add_argument("out", type=Path, help="folder to write the AB images to")
    parser.add_argument("--size", type=int, default=256, help="side of A and B (default 256)")
    parser.add_argument("--limit", type=int, default=None, help="write at most N pairs")
    for field in fields(EdgeOptions):  # every knob of the sketch, e.g. --epsilon -0.015, --thickness 2
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(getattr(defaults, field.name)),
                            default=getattr(defaults, field.name))
    args = parser.parse_args(argv)
    if args.size < 8 or (args.limit is not None and args.limit < 0):
        parser.error("--size must be at least 8 and --limit not negative")
    return args


def list_photos(root: Path) -> list[Path]:
    """Return the photo files under root, recursively, in sorted order."""
    if not root.is_dir():
        raise FileNotFoundError(f"photo folder not found: {root}")
    paths = []
    for parent, _dirs, files in os.walk(root):
        paths += [Path(parent, f) for f in files
                  if Path(f).suffix.lower() in PHOTO_EXTENSIONS and not f.startswith(".")]
    return sorted(paths)


def make_pair(photo: Image.Image, size: int, options: EdgeOptions) -> np.ndarray:
    """Return the AB image (size, 2 * size, 3) uint8 of one photo: sketch left, photo right."""
    width, height = photo.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    # Bilinear with PIL's antialiasing, like tf.image.resize(antialias=True) in gans.pairs.
    square = photo.convert("RGB").crop((left, top, left + side, top + side))
    b = np.asarray(square.resize((size, size), Image.Resampling.BILINEAR))  # (S, S, 3)
    a = edge_sketch(b, options)  # (S, S, 3)
    return np.concatenate([a, b], axis=1)  # (S, 2S, 3)


def main(argv: list[str] | None = None) -> int:
    """Write the pairs; return the exit status (1 if no pair was written)."""
    args = parse_args(argv)
    options = EdgeOptions(**{field.name: getattr(args, field.name) for field in fields(EdgeOptions)})
    try:
        photos = list_photos(args.photos)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    written = skipped = 0
    for path in photos:
        if args.limit is not None and written >= args.limit:
            break
        try:
            with Image.open(path) as photo:
                pair = make_pair(photo, args.size, options)
        except (OSError, ValueError) as error:  # UnidentifiedImageError is an OSError
            print(f"skipped {path}: {error}", file=sys.stderr)
            skipped += 1
            continue
        target = (args.out / path.relative_to(args.photos)).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pair).save(target)
        written += 1
    print(f"wrote {written} pairs to {args.out} ({skipped} unreadable files skipped)")
    return 0 if written or args.limit == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
