"""Dataset service: register uploads and server-side folders, as they are or as the cat faces found in them
(core.faces); nothing half-made survives an error."""

from __future__ import annotations

import uuid
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from core.archives import ArchiveLimits, ImageScan, extract_archive, remove_tree, scan_images
from core.errors import CatganError, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from core.faces import FaceOptions, crop_folder
from core.folder_survey import FolderLimits, survey_links
from core.models import Dataset
from core.services import quotas
from core.services.owners import scoped, visible
from core.settings import Settings
from gans.holdout import holdout_size  # TF-free (hashlib, os): the split's size rule, kept in one place

NAME_MAX = 200  # datasets.name is String(200)


def name_upload(*, given: str | None, filename: str | None) -> str:
    """The name of an uploaded dataset: `given`, else the archive's file name without its extensions."""
    name = given or PurePath(filename or "dataset").name.split(".")[0] or "dataset"
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name is longer than {NAME_MAX} characters", fields={"name": ["Too long."]})
    if "\x00" in name:  # from the form or the file name; PostgreSQL cannot store it
        raise InvalidInput("name may not contain NUL characters", fields={"name": ["Contains NUL."]})
    return name


def create_dataset_from_upload(*, session: Session, settings: Settings, name: str, upload: BinaryIO,
                               owner: str, admin: bool = False, faces: FaceOptions | None = None) -> Dataset:
    """Unpack an uploaded archive into the dataset dir and record it as `owner`'s (with `faces`: its cat faces).

    The images are unpacked in a staging folder and moved into place before the row is added;
    any failure (the owner's dataset quota included; admins have none) removes the folder, so no half
    dataset is visible.
    """
    byte_quota = None if admin else settings.quota_dataset_bytes
    assert settings.dataset_dir is not None
    staging = settings.dataset_dir / ".staging" / uuid.uuid4().hex
    folder_name = uuid.uuid4().hex
    final = settings.dataset_dir / folder_name
    try:
        archive = staging / "upload"
        _save_upload(upload, archive, settings.max_upload_bytes)
        limits = ArchiveLimits(settings.max_archive_files, settings.max_archive_bytes, settings.max_archive_ratio,
                               settings.max_archive_header_bytes)
        skipped = extract_archive(archive, staging / "images", limits)
        scan = scan_images(staging / "images", prune=True)
        _require_images(scan.image_count, skipped + scan.skipped_count)
        images, found = staging / "images", None
        if faces is not None:
            images = staging / "faces"
            scan, found = _crop_faces(staging / "images", images, faces)
        images.rename(final)
        dataset = Dataset(name=name, source="upload", path=folder_name, image_count=scan.image_count,
                          skipped_count=skipped + (found["unreadable"] if found else scan.skipped_count),
                          total_bytes=scan.total_bytes, content_hash=scan.content_hash, faces=found, owner=owner)
        session.add(dataset)
        session.flush()
        if byte_quota is not None:  # counted with this dataset's row in, under the owner's lock
            quotas.check_dataset_bytes(session=session, owner=owner, new_bytes=scan.total_bytes, limit=byte_quota)
        _remove_unless_committed(session, dataset, final)
        return dataset
    except BaseException:
        remove_tree(final)
        raise
    finally:
        remove_tree(staging)


def _crop_faces(photos: Path, target: Path, options: FaceOptions) -> tuple[ImageScan, dict[str, Any]]:
    """Crop the cat faces of `photos` into `target`: its scan and the finder's counts, or InvalidInput when none."""
    counts = crop_folder(photos, target, options)
    _require_images(counts.photos, counts.unreadable)
    if counts.faces == 0:
        raise InvalidInput(f"no cat face was found in {counts.photos} photos ({counts.unreadable} unreadable); "
                           "use photos of cats facing the camera, or leave out `faces` to keep the images whole",
                           code="no_faces", fields={"faces": ["No face found."]})
    return scan_images(target), counts.summary(options)


def _remove_unless_committed(session: Session, dataset: Dataset, folder: Path) -> None:
    """Remove `folder` when the transaction recording `dataset` ends without committing it.

    A failure after this function returns (a failed commit, a concurrent request that took the same
    Idempotency-Key) rolls the row back; the images must not outlive it.
    """
    root = session.get_transaction()

    def end(_session: Session, transaction: SessionTransaction) -> None:
        if transaction is root and not inspect(dataset).persistent:  # rolled back, or closed uncommitted
            remove_tree(folder)

    event.listen(session, "after_transaction_end", end)


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


def create_dataset_from_folder(*, session: Session, settings: Settings, name: str, path: str, owner: str,
                               admin: bool, faces: FaceOptions | None = None) -> Dataset:
    """Register a server-side folder of images as `owner`'s (read in place, never modified).

    Only an `admin` may: a folder can hold anyone's files. The service's own data is refused, and the
    folder is walked within CATGAN_MAX_FOLDER_ENTRIES / CATGAN_MAX_FOLDER_DEPTH before an image is read.
    With `faces`, the cat faces found in it are cropped into the dataset dir and those are the dataset.
    """
    if not settings.allow_local_paths:
        raise CatganError("server-side dataset paths are disabled (CATGAN_ALLOW_LOCAL_PATHS=false); "
                          "upload an archive instead", code="local_paths_disabled")
    if not admin:
        raise Forbidden("registering a server-side folder needs an admin API key (it could hold anyone's files); "
                        "upload an archive instead, or ask an admin", code="admin_required")
    folder = _existing_folder(path)
    root = settings.local_path_root.resolve() if settings.local_path_root else None
    if root is not None and not _is_under(folder, root):
        raise InvalidInput(f"path must be under {root}", code="path_not_allowed", fields={"path": ["Not allowed."]})
    _refuse_service_data(folder, settings)
    links = survey_links(folder, FolderLimits(settings.max_folder_entries, settings.max_folder_depth))
    _refuse_links_out(folder, links, root, _service_dirs(settings))
    if faces is not None:
        return _create_faces_from_folder(session=session, settings=settings, name=name, folder=folder,
                                         owner=owner, faces=faces)
    scan = scan_images(folder)
    _require_images(scan.image_count, scan.skipped_count)
    dataset = Dataset(name=name, source="local", path=str(folder), image_count=scan.image_count,
                      skipped_count=scan.skipped_count, total_bytes=scan.total_bytes,
                      content_hash=scan.content_hash, owner=owner)
    session.add(dataset)
    session.flush()
    return dataset


def _create_faces_from_folder(*, session: Session, settings: Settings, name: str, folder: Path, owner: str,
                              faces: FaceOptions) -> Dataset:
    """Record the cat faces of a vetted server-side `folder`, cropped into the dataset dir, as a `faces` dataset."""
    assert settings.dataset_dir is not None
    staging = settings.dataset_dir / ".staging" / uuid.uuid4().hex
    folder_name = uuid.uuid4().hex
    final = settings.dataset_dir / folder_name
    try:
        scan, found = _crop_faces(folder, staging / "faces", faces)
        (staging / "faces").rename(final)
        dataset = Dataset(name=name, source="faces", path=folder_name, image_count=scan.image_count,
                          skipped_count=found["unreadable"], total_bytes=scan.total_bytes,
                          content_hash=scan.content_hash, faces={**found, "folder": str(folder)}, owner=owner)
        session.add(dataset)
        session.flush()
        _remove_unless_committed(session, dataset, final)
        return dataset
    except BaseException:
        remove_tree(final)
        raise
    finally:
        remove_tree(staging)


def _existing_folder(path: str) -> Path:
    """The folder `path` names, resolved (links followed), or InvalidInput."""
    try:
        folder = Path(path).expanduser().resolve()
        if folder.is_dir():
            return folder
    except (OSError, RuntimeError, ValueError):  # a name too long, a link loop, an unknown ~user
        pass
    raise InvalidInput(f"no folder at {path}", code="path_not_found", fields={"path": ["Not a folder."]})


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _service_dirs(settings: Settings) -> list[Path]:
    """HOME and the data directories (which may lie elsewhere), links resolved: every owner's files are there."""
    dirs = [settings.home, settings.dataset_dir, settings.artifact_dir, settings.model_repository,
            settings.checkpoint_dir]
    return [d.resolve() for d in dirs if d is not None]


def _refuse_service_data(folder: Path, settings: Settings) -> None:
    """Refuse a folder inside the service's own data, or one holding it (`/`, the parent of HOME)."""
    for data in _service_dirs(settings):
        if _is_under(folder, data) or _is_under(data, folder):
            raise InvalidInput(f"{folder} {'lies inside' if _is_under(folder, data) else 'holds'} the service's own "
                               f"data ({data}, every owner's uploads and models); register a folder outside "
                               "CATGAN_HOME and the data directories", code="path_not_allowed",
                               fields={"path": ["The service's own data."]})


def _refuse_links_out(folder: Path, links: list[Path], root: Path | None, service_dirs: list[Path]) -> None:
    """Refuse symbolic links under `folder` that lead into the service's data, or outside `root` (or nowhere)."""
    for link in links:
        try:
            target: Path | None = link.resolve(strict=True)
        except (OSError, RuntimeError):
            target = None  # broken or a loop: harmless unless a root is set
        into_data = target is not None and any(_is_under(target, data) for data in service_dirs)
        if into_data or (root is not None and (target is None or not _is_under(target, root))):
            where = "into the service's own data" if into_data else f"outside {root}"
            raise InvalidInput(f"a symbolic link under {folder} leads {where}: {link}", code="path_not_allowed",
                               fields={"path": ["Holds links into the service's data." if into_data
                                                else "Holds links that lead outside the root."]})


def held_out_count(dataset: Dataset) -> int:
    """How many images the held-out split keeps out of training (gans.holdout's size rule, by image_count).

    Derived, not stored: the rule depends only on the count, so it cannot go stale. A duplicate of a held-out
    file is held out too, so a folder with duplicates may hold out a few more than this.
    """
    return holdout_size(dataset.image_count)


def get_dataset(*, session: Session, dataset_id: int, owner: str | None = None) -> Dataset:
    """The dataset, or NotFound (also when it is not `owner`'s)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not visible(dataset.owner, owner):
        raise NotFound(f"dataset {dataset_id} does not exist")
    return dataset


def list_datasets(*, session: Session, owner: str | None = None) -> list[Dataset]:
    """The datasets `owner` may see (all for None), newest first."""
    return list(session.scalars(scoped(select(Dataset).order_by(Dataset.id.desc()), Dataset.owner, owner)))


def dataset_folder(dataset: Dataset, settings: Settings) -> Path:
    """The folder a train job reads."""
    assert settings.dataset_dir is not None
    return Path(dataset.path) if dataset.source == "local" else settings.dataset_dir / dataset.path
