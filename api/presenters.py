"""ORM rows to response dicts (built inside the session, so relationships can load)."""

from __future__ import annotations

from typing import Any

from core.models import Artifact, Dataset, Job, ModelVersion
from core.states import JobType


def present_dataset(dataset: Dataset) -> dict[str, Any]:
    return {c: getattr(dataset, c) for c in ("id", "name", "source", "image_count", "skipped_count",
                                               "total_bytes", "content_hash", "owner", "created_at")}


def present_artifact(artifact: Artifact) -> dict[str, Any]:
    data = {c: getattr(artifact, c) for c in ("id", "job_id", "kind", "name", "size", "sha256", "content_type",
                                                "info", "created_at")}
    data["url"] = f"/v1/artifacts/{artifact.id}/content"
    return data


def present_model_version(version: ModelVersion) -> dict[str, Any]:
    return {c: getattr(version, c) for c in ("id", "name", "version", "model", "job_id", "image_size", "z_dim",
                                               "info", "owner", "created_at")}


def present_progress(progress: dict[str, Any]) -> dict[str, Any]:
    """Progress with its completed fraction."""
    out = dict(progress)
    step, total = progress.get("step"), progress.get("total_steps")
    out["fraction"] = round(step / total, 4) if step is not None and total else progress.get("fraction")
    return out


def present_job(job: Job) -> dict[str, Any]:
    if job.type == JobType.TRAIN:
        model_version = job.model_versions[-1].id if job.model_versions else None
    else:
        model_version = job.source_model_version_id
    return {
        "id": job.id, "type": job.type, "status": job.status, "model": job.model, "dataset": job.dataset_id,
        "params": job.params, "progress": present_progress(job.progress or {}), "metrics": job.metrics,
        "error": job.error, "cancel_requested": job.cancel_requested, "owner": job.owner, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at, "model_version": model_version,
        "checkpoints": [{"id": c.id, "step": c.step, "epoch": c.epoch, "metrics": c.metrics, "kept": c.kept,
                         "best": c.best, "created_at": c.created_at.isoformat()} for c in job.checkpoints],
        "warnings": job.warnings,
        "resume_from": job.resume_from_checkpoint_id,
        "artifacts": [present_artifact(a) for a in job.artifacts],
    }
