"""ORM rows to response dicts (built inside the session, so relationships can load)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.models import Artifact, Checkpoint, Dataset, Job, ModelVersion
from core.services import datasets
from core.services.job_outputs import JobOutputs, job_outputs
from core.states import JobType


def present_dataset(dataset: Dataset) -> dict[str, Any]:
    data = {c: getattr(dataset, c) for c in ("id", "name", "source", "image_count", "skipped_count",
                                               "total_bytes", "content_hash", "faces", "owner", "created_at")}
    data["held_out_count"] = datasets.held_out_count(dataset)
    data["sheet_url"] = f"/v1/datasets/{dataset.id}/sheet"
    return data


def present_artifact(artifact: Artifact) -> dict[str, Any]:
    data = {c: getattr(artifact, c) for c in ("id", "job_id", "kind", "name", "size", "sha256", "content_type",
                                                "info", "created_at")}
    data["url"] = f"/v1/artifacts/{artifact.id}/content"
    return data


def present_model_version(version: ModelVersion) -> dict[str, Any]:
    return {c: getattr(version, c) for c in ("id", "name", "version", "model", "kind", "signature", "job_id",
                                               "image_size", "z_dim", "info", "owner", "created_at")}


def present_progress(progress: dict[str, Any]) -> dict[str, Any]:
    """Progress with its completed fraction."""
    out = dict(progress)
    step, total = progress.get("step"), progress.get("total_steps")
    out["fraction"] = round(step / total, 4) if step is not None and total else progress.get("fraction")
    return out


def present_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    data = {c: getattr(checkpoint, c) for c in ("id", "job_id", "step", "epoch", "metrics", "kept", "best")}
    data["created_at"] = checkpoint.created_at.isoformat()
    return data


def present_job(job: Job, outputs: JobOutputs) -> dict[str, Any]:
    """The job with the counts and newest few of its artifacts and checkpoints (the rest: their own endpoints)."""
    model_version = outputs.model_version_id if job.type == JobType.TRAIN else job.source_model_version_id
    return {
        "id": job.id, "type": job.type, "status": job.status, "model": job.model, "dataset": job.dataset_id,
        "params": job.params, "progress": present_progress(job.progress or {}), "metrics": job.metrics,
        "error": job.error, "cancel_requested": job.cancel_requested, "owner": job.owner, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at, "model_version": model_version,
        "checkpoint_count": outputs.checkpoint_count,
        "checkpoints": [present_checkpoint(c) for c in outputs.checkpoints],
        "warnings": job.warnings,
        "resume_from": job.resume_from_checkpoint_id,
        "artifact_count": outputs.artifact_count,
        "artifacts": [present_artifact(a) for a in outputs.artifacts],
    }


def present_jobs(session: Session, jobs: list[Job]) -> list[dict[str, Any]]:
    """Present a page of jobs, their outputs read in a fixed number of queries (not one per job)."""
    outputs = job_outputs(session=session, job_ids=[job.id for job in jobs])
    return [present_job(job, outputs[job.id]) for job in jobs]
