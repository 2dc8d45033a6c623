"""Model-version service: the exported generators the repository holds.

A model name belongs to one owner: whoever first published it (or has a train job for it queued or
running). Other owners see neither the name nor its versions (an admin, `owner=None`, sees all).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from core.models import Job, ModelLabel, ModelPolicy, ModelVersion
from core.names import MODEL_NAME_RULE, check_model_name, is_model_name, shown
from core.services.owners import scoped, visible
from core.states import JobStatus, JobType


def get_model_version(*, session: Session, model_version_id: int, owner: str | None = None) -> ModelVersion:
    """The model version, or NotFound (also when it is not `owner`'s)."""
    version = session.get(ModelVersion, model_version_id)
    if version is None or not visible(version.owner, owner):
        raise NotFound(f"model version {model_version_id} does not exist")
    return version


def list_model_versions(*, session: Session, name: str | None = None, owner: str | None = None) -> list[ModelVersion]:
    """Model versions `owner` may see (None: all) by name, then version."""
    query = scoped(select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version), ModelVersion.owner, owner)
    if name:
        query = query.where(ModelVersion.name == name)
    return list(session.scalars(query))


def next_version_number(*, session: Session, name: str) -> int:
    """One more than the newest version of `name` (1 for a new name)."""
    return (session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name)) or 0) + 1


def version_of_job(*, session: Session, job_id: int) -> ModelVersion | None:
    """The model version a train job already published (a worker that died after recording it), if any."""
    return session.scalar(select(ModelVersion).where(ModelVersion.job_id == job_id).order_by(ModelVersion.id))


def publisher(*, session: Session, name: str) -> str | None:
    """The owner who first published model `name` (None for a new name)."""
    return session.scalar(select(ModelVersion.owner).where(ModelVersion.name == name).order_by(ModelVersion.id))


def name_owner(*, session: Session, name: str) -> str | None:
    """Who holds model `name`: its publisher, else the owner of its oldest train job queued or running."""
    first = publisher(session=session, name=name)
    if first is not None:
        return first
    active = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
    return session.scalar(select(Job.owner).where(Job.type == JobType.TRAIN.value, Job.status.in_(active),
                                                  Job.params["model_name"].as_string() == name).order_by(Job.id))


def require_name_available(*, session: Session, name: str, owner: str) -> None:
    """Refuse `name` when another owner holds it (names are shared by all owners, as in the model repository).

    Raises:
        Conflict: the name is taken.
    """
    if name_owner(session=session, name=name) not in (None, owner):
        raise Conflict(f"the model name {name!r} is taken by another owner; choose another model_name",
                       code="model_name_taken", fields={"model_name": ["Taken."]})


def create_model_version(*, session: Session, name: str, version: int, model: str, job_id: int | None, path: str,
                         record: dict[str, Any], info: dict[str, Any], owner: str) -> ModelVersion:
    """Record a published export of `owner` (who must own `name`: the versions of a name have one owner).

    `record` is what the model declared of this export (gans.contract.ModelDeclaration.record): its kind,
    signature, image_size, z_dim (None: no latent input) and, for a conditional model, classes.
    """
    check_model_name(name)
    if publisher(session=session, name=name) not in (None, owner):
        raise Conflict(f"the model name {name!r} is taken by another owner", code="model_name_taken")
    row = ModelVersion(name=name, version=version, model=model, job_id=job_id, path=path, kind=record["kind"],
                       signature=record["signature"], image_size=record["image_size"], z_dim=record["z_dim"] or 0,
                       info={**info, "classes": list(record.get("classes") or ())}, owner=owner)
    session.add(row)
    session.flush()
    return row


def model_versions_of(*, session: Session, name: str, owner: str | None = None) -> list[ModelVersion]:
    """The versions of a model name, ascending, or NotFound (also when `owner` may not see it).

    A name that breaks the model-name rule (`core.names`) names nothing: NotFound, saying the rule.
    """
    if not is_model_name(name):
        raise NotFound(f"model {shown(name)} does not exist: model names {MODEL_NAME_RULE}")
    versions = list_model_versions(session=session, name=name, owner=owner)
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


def set_label(*, session: Session, name: str, label: str, version: int, owner: str | None = None) -> None:
    """Point `label` of model `name` at `version` (creating the label); the version must be served.

    Raises:
        NotFound: no such model of `owner`. InvalidInput: no such version. Conflict: the version is not served.
    """
    _require_version(session, name, version, owner)
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


def remove_label(*, session: Session, name: str, label: str, owner: str | None = None) -> None:
    """Delete a label, or NotFound (also when the model is not `owner`'s)."""
    model_versions_of(session=session, name=name, owner=owner)
    row = session.scalar(select(ModelLabel).where(ModelLabel.name == name, ModelLabel.label == label))
    if row is None:
        raise NotFound(f"model {name!r} has no label {label!r}")
    session.delete(row)
    session.flush()


def set_policy(*, session: Session, name: str, versions: list[int] | None, owner: str | None = None) -> None:
    """Serve only `versions` of `name` (None: all); labelled versions must stay served.

    Raises:
        NotFound: no such model of `owner`. InvalidInput: unknown versions. Conflict: a label would point at an
        unserved version.
    """
    existing = {v.version for v in model_versions_of(session=session, name=name, owner=owner)}
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
                          label: str | None = None, owner: str | None = None) -> ModelVersion:
    """The served version of `name` a request addresses: by number, by label, or the newest served one.

    Raises:
        InvalidInput: an invalid name, no such model (of `owner`), version or label. Conflict: not served.
    """
    check_model_name(name)
    versions = {v.version: v for v in list_model_versions(session=session, name=name, owner=owner)}
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


def _require_version(session: Session, name: str, version: int, owner: str | None) -> None:
    if version not in {v.version for v in model_versions_of(session=session, name=name, owner=owner)}:
        raise InvalidInput(f"model {name!r} has no version {version}", fields={"version": ["No such version."]})
