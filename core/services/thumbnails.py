"""A dataset's thumbnail sheet: a few of its images side by side (Pillow), made once and kept under HOME."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.archives import image_files
from core.faces import contact_sheet
from core.models import Dataset
from core.services.datasets import dataset_folder
from core.settings import Settings
from core.storage import write_atomic

log = logging.getLogger(__name__)
COLUMNS, ROWS, CELL = 8, 2, 96  # a 768 x 192 sheet of 16 images


def thumbnail_sheet(dataset: Dataset, settings: Settings) -> Path:
    """The dataset's sheet, made from an even sample of its images on first use (cached by its content hash)."""
    path = settings.home / "thumbnails" / f"dataset-{dataset.id}-{dataset.content_hash[:16]}.png"
    if not path.is_file():
        write_atomic(path, render_sheet(sample_images(dataset_folder(dataset, settings), COLUMNS * ROWS)))
    return path


def dataset_sheet(dataset: Dataset, settings: Settings) -> Path:
    """A face dataset's contact sheet of its first crops (pixels enlarged, not smoothed), else its thumbnail sheet."""
    if not dataset.faces:
        return thumbnail_sheet(dataset, settings)
    path = settings.home / "thumbnails" / f"dataset-{dataset.id}-faces-{dataset.content_hash[:16]}.png"
    if not path.is_file():
        folder = dataset_folder(dataset, settings)
        paths = image_files(folder) if folder.is_dir() else []
        write_atomic(path, contact_sheet(paths, int(dataset.faces["face_size"])))
    return path


def sample_images(folder: Path, count: int) -> list[Path]:
    """`count` images spread evenly over the folder's sorted images (all of them if fewer)."""
    files = image_files(folder) if folder.is_dir() else []
    if len(files) <= count:
        return files
    return [files[i * len(files) // count] for i in range(count)]


def render_sheet(paths: list[Path]) -> bytes:
    """A PNG of the images as CELL-pixel squares, COLUMNS wide; unreadable files leave their cell blank."""
    rows = max(1, -(-len(paths) // COLUMNS))
    sheet = Image.new("RGB", (COLUMNS * CELL, rows * CELL), (24, 24, 27))
    for index, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                cell = image.convert("RGB").resize((CELL, CELL), Image.Resampling.LANCZOS)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
            log.warning("thumbnail sheet: cannot read %s", path)
            continue
        sheet.paste(cell, ((index % COLUMNS) * CELL, (index // COLUMNS) * CELL))
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()
