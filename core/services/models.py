"""Model-version service: the exported generators the repository holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import ModelVersion


def get_model_version(*, session: Session, model_version_id: int) -> ModelVersion:
    """The model version, or NotFound."""
    version = session.get(ModelVersion, model_version_id)
    if version is None:
        raise NotFound(f"model version {model_version_id} does not exist")
    return version


def list_model_versions(*, session: Session, name: str | None = None) -> list[ModelVersion]:
    """Model versions by name, then version."""
    query = select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version)
    if name:
        query = query.where(ModelVersion.name == name)
    return list(session.scalars(query))


def next_version_number(*, session: Session, name: str) -> int:
    """One more than the newest version of `name` (1 for a new name)."""
    return (session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name)) or 0) + 1


def create_model_version(*, session: Session, name: str, version: int, model: str, job_id: int, path: str,
                         image_size: int, z_dim: int, info: dict[str, Any]) -> ModelVersion:
    """Record a published export."""
    record = ModelVersion(name=name, version=version, model=model, job_id=job_id, path=path,
                          image_size=image_size, z_dim=z_dim, info=info)
    session.add(record)
    session.flush()
    return record
