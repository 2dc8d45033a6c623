"""Model-version service: the exported generators the repository holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from core.models import ModelLabel, ModelPolicy, ModelVersion


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


def model_versions_of(*, session: Session, name: str) -> list[ModelVersion]:
    """The versions of a model name, ascending, or NotFound."""
    versions = list_model_versions(session=session, name=name)
    if not versions:
        raise NotFound(f"model {name!r} does not exist; see GET /v1/models")
    return versions


def pinned_versions(*, session: Session, name: str) -> list[int] | None:
    """The versions a model name is pinned to, or None when all are served."""
    policy = session.get(ModelPolicy, name)
    return list(policy.versions) if policy is not None and policy.versions is not None else None


def served_version_numbers(*, session: Session, name: str) -> list[int]:
    """The versions TF Serving is told to serve."""
    pinned = pinned_versions(session=session, name=name)
    return sorted(pinned) if pinned is not None else [v.version for v in model_versions_of(session=session, name=name)]


def labels_of(*, session: Session, name: str) -> dict[str, int]:
    """label → version for a model name."""
    rows = session.scalars(select(ModelLabel).where(ModelLabel.name == name).order_by(ModelLabel.label))
    return {row.label: row.version for row in rows}


def set_label(*, session: Session, name: str, label: str, version: int) -> None:
    """Point `label` of model `name` at `version` (creating the label); the version must be served.

    Raises:
        NotFound: no such model. InvalidInput: no such version. Conflict: the version is not served.
    """
    _require_version(session, name, version)
    if version not in served_version_numbers(session=session, name=name):
        pinned = pinned_versions(session=session, name=name)
        raise Conflict(f"version {version} of {name!r} is not served (pinned: {pinned}); pin it first with "
                       f"PUT /v1/models/{name}/policy", code="version_not_served")
    row = session.scalar(select(ModelLabel).where(ModelLabel.name == name, ModelLabel.label == label))
    if row is None:
        session.add(ModelLabel(name=name, label=label, version=version))
    else:
        row.version = version
    session.flush()


def remove_label(*, session: Session, name: str, label: str) -> None:
    """Delete a label, or NotFound."""
    row = session.scalar(select(ModelLabel).where(ModelLabel.name == name, ModelLabel.label == label))
    if row is None:
        raise NotFound(f"model {name!r} has no label {label!r}")
    session.delete(row)
    session.flush()


def set_policy(*, session: Session, name: str, versions: list[int] | None) -> None:
    """Serve only `versions` of `name` (None: all); labelled versions must stay served.

    Raises:
        NotFound: no such model. InvalidInput: unknown versions. Conflict: a label would point at an unserved version.
    """
    existing = {v.version for v in model_versions_of(session=session, name=name)}
    if versions is not None:
        unknown = sorted(set(versions) - existing)
        if unknown:
            raise InvalidInput(f"model {name!r} has no version {', '.join(map(str, unknown))}",
                               fields={"versions": [f"Unknown: {', '.join(map(str, unknown))}."]})
        orphaned = {label: v for label, v in labels_of(session=session, name=name).items() if v not in versions}
        if orphaned:
            raise Conflict(f"labels {orphaned} point at versions this policy stops serving; move them first",
                           code="label_would_dangle")
    policy = session.get(ModelPolicy, name)
    pinned = sorted(set(versions)) if versions is not None else None
    if policy is None:
        session.add(ModelPolicy(name=name, versions=pinned))
    else:
        policy.versions = pinned
    session.flush()


def resolve_model_version(*, session: Session, name: str, version: int | None = None,
                          label: str | None = None) -> ModelVersion:
    """The served version of `name` a request addresses: by number, by label, or the newest served one.

    Raises:
        InvalidInput: no such model, version or label. Conflict: the version is not served.
    """
    versions = {v.version: v for v in list_model_versions(session=session, name=name)}
    if not versions:
        raise InvalidInput(f"model {name!r} does not exist; see GET /v1/models", code="model_not_found",
                           fields={"model_name": ["No such model."]})
    if label is not None:
        labels = labels_of(session=session, name=name)
        if label not in labels:
            raise InvalidInput(f"model {name!r} has no label {label!r} (labels: {sorted(labels)})",
                               code="label_not_found", fields={"label": ["No such label."]})
        version = labels[label]
    served = served_version_numbers(session=session, name=name)
    if version is None:
        version = served[-1]
    if version not in versions:
        raise InvalidInput(f"model {name!r} has no version {version}", code="model_version_not_found",
                           fields={"version": ["No such version."]})
    if version not in served:
        raise Conflict(f"version {version} of {name!r} is not served (served: {served})", code="version_not_served")
    return versions[version]


def _require_version(session: Session, name: str, version: int) -> None:
    if version not in {v.version for v in model_versions_of(session=session, name=name)}:
        raise InvalidInput(f"model {name!r} has no version {version}", fields={"version": ["No such version."]})
