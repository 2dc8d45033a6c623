"""What each dashboard page shows, read through the core services as the signed-in owner (no logic of its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.presenters import present_artifact, present_checkpoint, present_dataset, present_jobs, present_model_version
from core.errors import InvalidInput
from core.services import datasets, job_outputs, jobs, models

STRIP_FRAMES = 24  # sample sheets shown in a job's evolution strip
MAX_COMPARED = 8


def job_page(session: Session, job_id: int, owner: str | None) -> dict[str, Any]:
    """A job with every sample sheet (for the strip), its checkpoints and its other artifacts."""
    job = present_jobs(session, [jobs.get_job(session=session, job_id=job_id, owner=owner)])[0]
    sheets, _ = job_outputs.page_artifacts(session=session, job_id=job_id, kind="sample_grid", limit=1000)
    checkpoints, _ = job_outputs.page_checkpoints(session=session, job_id=job_id, limit=1000)
    files, _ = job_outputs.page_artifacts(session=session, job_id=job_id, limit=1000)
    return {"job": job, "sheets": [present_artifact(a) for a in thin(sheets, STRIP_FRAMES)],
            "checkpoints": [present_checkpoint(c) for c in reversed(checkpoints)],
            "files": [present_artifact(a) for a in files if a.kind != "sample_grid"]}


def thin(rows: list[Any], count: int) -> list[Any]:
    """`count` rows spread evenly over `rows`, the last always included."""
    if len(rows) <= count:
        return rows
    return [rows[round(i * (len(rows) - 1) / (count - 1))] for i in range(count)]


def compared_jobs(session: Session, job_ids: list[int], owner: str | None) -> dict[str, Any]:
    """Two to eight jobs, their params side by side, and which params differ between them."""
    if not 2 <= len(job_ids) <= MAX_COMPARED:
        raise InvalidInput(f"compare 2 to {MAX_COMPARED} jobs (got {len(job_ids)}): tick them in the jobs list",
                           code="compare_count", fields={"jobs": ["Give 2 to 8 job ids."]})
    rows = present_jobs(session, [jobs.get_job(session=session, job_id=i, owner=owner) for i in job_ids])
    for row in rows:
        sheets, _ = job_outputs.page_artifacts(session=session, job_id=row["id"], kind="sample_grid", limit=1000)
        row["latest_sheet"] = present_artifact(sheets[-1]) if sheets else None
    keys = sorted({key for row in rows for key in row["params"]})
    differing = {key for key in keys if len({repr(row["params"].get(key)) for row in rows}) > 1}
    return {"jobs": rows, "param_keys": keys, "differing": differing}


def model_page(session: Session, name: str, owner: str | None) -> dict[str, Any]:
    """A model name: its versions (each with its training job's last sheet), labels and pins."""
    versions = models.model_versions_of(session=session, name=name, owner=owner)
    rows = []
    for version in reversed(versions):
        row = present_model_version(version)
        sheets, _ = (job_outputs.page_artifacts(session=session, job_id=version.job_id, kind="sample_grid",
                                                limit=1000) if version.job_id else ([], None))
        row["sheet"] = present_artifact(sheets[-1]) if sheets else None
        rows.append(row)
    return {"name": name, "versions": rows, "labels": models.labels_of(session=session, name=name),
            "pinned": models.pinned_versions(session=session, name=name),
            "served": models.served_version_numbers(session=session, name=name)}


def model_names(session: Session, owner: str | None) -> list[dict[str, Any]]:
    """Every model name the owner sees, with its newest version and labels."""
    by_name: dict[str, list[Any]] = {}
    for version in models.list_model_versions(session=session, owner=owner):
        by_name.setdefault(version.name, []).append(version)
    return [{"name": name, "latest": group[-1].version, "count": len(group), "model": group[-1].model,
             "labels": models.labels_of(session=session, name=name)} for name, group in by_name.items()]


def dataset_rows(session: Session, owner: str | None) -> list[dict[str, Any]]:
    return [present_dataset(d) for d in datasets.list_datasets(session=session, owner=owner)]
