"""Artifact service: files a job produced, written atomically and recorded with their hash."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from core.models import Artifact, Checkpoint, utcnow
from core.services.job_events import SHARD_KIND as SHARD_KIND  # a zip shard of a generate/translate job's images
from core.services.job_events import record_artifact, record_checkpoint
from core.services.owners import visible
from core.settings import Settings
from core.storage import resolve_inside, sha256_file, write_atomic

VERIFY_HASH_BYTES = 64 * 1024**2
SHARD_MANIFEST = "manifest.jsonl"  # inside every shard: one JSON line per image, where it came from


def job_artifact_dir(settings: Settings, job_id: int) -> Path:
    """Where a job's artifacts live."""
    assert settings.artifact_dir is not None
    return settings.artifact_dir / f"job-{job_id}"


def add_artifact_bytes(*, session: Session, settings: Settings, job_id: int, kind: str, name: str,
                       data: bytes, content_type: str, info: dict[str, Any] | None = None) -> Artifact:
    """Write `data` as an artifact of the job and record it."""
    path = job_artifact_dir(settings, job_id) / name
    write_atomic(path, data)
    return add_artifact_file(session=session, settings=settings, job_id=job_id, kind=kind, path=path,
                             content_type=content_type, info=info)


def add_artifact_file(*, session: Session, settings: Settings, job_id: int, kind: str, path: Path,
                      content_type: str, info: dict[str, Any] | None = None) -> Artifact:
    """Record a file already complete in the job's artifact dir.

    A name already recorded for the job (loss-curve.png, grid.png, a sample sheet made again after a resume) was
    written over: its row is updated to describe the new file, so it never answers 409 for the old bytes.
    """
    assert settings.artifact_dir is not None
    values = {"kind": kind, "path": os.path.relpath(path, settings.artifact_dir), "size": path.stat().st_size,
              "sha256": sha256_file(path), "content_type": content_type, "info": info or {}, "created_at": utcnow()}
    artifact = session.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.name == path.name))
    if artifact is None:
        artifact = Artifact(job_id=job_id, name=path.name, **values)
        session.add(artifact)
    else:
        for column, value in values.items():
            setattr(artifact, column, value)
    session.flush()
    record_artifact(session, artifact)  # a new sheet, shard or file: told to clients once this commits
    return artifact


def get_artifact(*, session: Session, artifact_id: int, owner: str | None = None) -> Artifact:
    """The artifact, or NotFound (also when its job is not `owner`'s)."""
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or not visible(artifact.job.owner, owner):
        raise NotFound(f"artifact {artifact_id} does not exist")
    return artifact


def artifact_path(artifact: Artifact, settings: Settings) -> Path:
    """Where the artifact's file lives (inside the artifact dir), present or not."""
    assert settings.artifact_dir is not None
    return resolve_inside(settings.artifact_dir, artifact.path)


def artifact_file(artifact: Artifact, settings: Settings) -> Path:
    """The artifact's file on disk, checked against what was recorded when it was written.

    The size is always checked; the sha256 too for files up to VERIFY_HASH_BYTES (a larger one would cost
    a full read per download; shards are hashed again when a job resumes).

    Raises:
        NotFound: the file has gone missing. Conflict: it no longer matches its record.
    """
    assert settings.artifact_dir is not None
    path = resolve_inside(settings.artifact_dir, artifact.path)
    if not path.is_file():
        raise NotFound(f"the file of artifact {artifact.id} is missing from storage")
    size = path.stat().st_size
    if size != artifact.size or (size <= VERIFY_HASH_BYTES and sha256_file(path) != artifact.sha256):
        raise Conflict(f"the file of artifact {artifact.id} no longer matches the hash recorded when it was written; "
                       "resume or re-run its job to write it again", code="artifact_corrupted")
    return path


def add_checkpoint(*, session: Session, job_id: int, step: int, epoch: int, path: str,
                   metrics: dict[str, Any], digest: str | None = None) -> Checkpoint:
    """Record a saved training checkpoint, with the sha256 of its files (see gans.checkpoints) if known.

    A checkpoint saved again at a recorded path (after a fallback, the run overwrites the damaged one) or
    reported again (a run reports the checkpoint it resumes from) updates its row: one row per path.
    """
    existing = session.scalar(select(Checkpoint).where(Checkpoint.job_id == job_id, Checkpoint.path == path))
    if existing is not None:
        existing.step, existing.epoch, existing.metrics, existing.kept = step, epoch, metrics, True
        existing.digest = digest or existing.digest
        session.flush()
        return existing  # reported again (a resumed run names its starting point): not a new checkpoint
    checkpoint = Checkpoint(job_id=job_id, step=step, epoch=epoch, path=path, metrics=metrics, digest=digest)
    session.add(checkpoint)
    session.flush()
    _describe_best_copy(session, checkpoint)
    record_checkpoint(session, checkpoint)
    return checkpoint


def _describe_best_copy(session: Session, checkpoint: Checkpoint) -> None:
    """Give the best copy of this step (saved when quality was measured, before the step's own checkpoint was
    recorded) the epoch and metrics of the step's checkpoint."""
    session.execute(update(Checkpoint).where(
        Checkpoint.job_id == checkpoint.job_id, Checkpoint.step == checkpoint.step, Checkpoint.best.is_(True),
        Checkpoint.id != checkpoint.id).values(epoch=checkpoint.epoch, metrics=checkpoint.metrics))


def mark_checkpoints(*, session: Session, job_id: int, kept: list[str], best: str | None,
                     best_digest: str | None = None) -> None:
    """Record which of a job's checkpoints are still usable and which is the best (with its digest, if known)."""
    records = list(session.scalars(select(Checkpoint).where(Checkpoint.job_id == job_id)))
    for checkpoint in records:
        checkpoint.kept = checkpoint.path in kept or checkpoint.path == best
        checkpoint.best = best is not None and checkpoint.path == best
        if checkpoint.best and best_digest is not None:
            checkpoint.digest = best_digest  # the best copy of a step trained again is written again
    if best is not None and best not in {c.path for c in records}:
        # the best copy lives apart from the last K; record it like the checkpoint of the same step
        step = int(best.rsplit("-", 1)[-1])
        twin = next((c for c in records if c.step == step), None)
        session.add(Checkpoint(job_id=job_id, step=step, epoch=twin.epoch if twin else 0, path=best,
                               metrics=twin.metrics if twin else {}, kept=True, best=True, digest=best_digest))
    session.flush()
