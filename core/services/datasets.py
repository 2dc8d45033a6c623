"""Dataset service: register uploads and server-side folders; nothing half-made survives an error."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.archives import ArchiveLimits, extract_archive, remove_tree, scan_images
from core.errors import CatganError, InvalidInput, NotFound, PayloadTooLarge
from core.models import Dataset
from core.settings import Settings


def create_dataset_from_upload(*, session: Session, settings: Settings, name: str, upload: BinaryIO) -> Dataset:
    """Unpack an uploaded archive into the dataset dir and record it.

    The images are unpacked in a staging folder and moved into place before the row is added;
    any failure removes the folder, so no half dataset is visible.
    """
    assert settings.dataset_dir is not None
    staging = settings.dataset_dir / ".staging" / uuid.uuid4().hex
    folder_name = uuid.uuid4().hex
    final = settings.dataset_dir / folder_name
    try:
        archive = staging / "upload"
        _save_upload(upload, archive, settings.max_upload_bytes)
        limits = ArchiveLimits(settings.max_archive_files, settings.max_archive_bytes)
        skipped = extract_archive(archive, staging / "images", limits)
        scan = scan_images(staging / "images", prune=True)
        _require_images(scan.image_count, skipped + scan.skipped_count)
        (staging / "images").rename(final)
        dataset = Dataset(name=name, source="upload", path=folder_name, image_count=scan.image_count,
                          skipped_count=skipped + scan.skipped_count, total_bytes=scan.total_bytes,
                          content_hash=scan.content_hash)
        session.add(dataset)
        session.flush()
        return dataset
    except BaseException:
        remove_tree(final)
        raise
    finally:
        remove_tree(staging)


def _save_upload(upload: BinaryIO, destination: Path, max_bytes: int) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with destination.open("wb") as out:
        for chunk in iter(lambda: upload.read(1024 * 1024), b""):
            written += len(chunk)
            if written > max_bytes:
                raise PayloadTooLarge(f"the upload is larger than {max_bytes} bytes")
            out.write(chunk)
    if written == 0:
        raise InvalidInput("the uploaded file is empty", code="empty_upload", fields={"file": ["Empty file."]})


def _require_images(count: int, skipped: int) -> None:
    if count == 0:
        raise InvalidInput(
            f"the archive holds no readable images ({skipped} files skipped); "
            "upload JPEG, PNG, BMP, GIF or WebP files",
            code="no_images",
            fields={"file": ["No readable images."]},
        )


def create_dataset_from_folder(*, session: Session, settings: Settings, name: str, path: str) -> Dataset:
    """Register a server-side folder of images (read in place, never modified)."""
    if not settings.allow_local_paths:
        raise CatganError("server-side dataset paths are disabled (CATGAN_ALLOW_LOCAL_PATHS=false); "
                          "upload an archive instead", code="local_paths_disabled")
    folder = Path(path).expanduser().resolve()
    root = settings.local_path_root.resolve() if settings.local_path_root else None
    if root is not None and folder != root and root not in folder.parents:
        raise InvalidInput(f"path must be under {root}", code="path_not_allowed", fields={"path": ["Not allowed."]})
    if not folder.is_dir():
        raise InvalidInput(f"no folder at {folder}", code="path_not_found", fields={"path": ["Not a folder."]})
    scan = scan_images(folder)
    _require_images(scan.image_count, scan.skipped_count)
    dataset = Dataset(name=name, source="local", path=str(folder), image_count=scan.image_count,
                      skipped_count=scan.skipped_count, total_bytes=scan.total_bytes,
                      content_hash=scan.content_hash)
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(*, session: Session, dataset_id: int) -> Dataset:
    """The dataset, or NotFound."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    return dataset


def list_datasets(*, session: Session) -> list[Dataset]:
    """All datasets, newest first."""
    return list(session.scalars(select(Dataset).order_by(Dataset.id.desc())))


def dataset_folder(dataset: Dataset, settings: Settings) -> Path:
    """The folder a train job reads."""
    assert settings.dataset_dir is not None
    return Path(dataset.path) if dataset.source == "local" else settings.dataset_dir / dataset.path
