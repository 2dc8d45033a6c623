"""Submitting jobs: a train, generate or translate request checked against what it names, then queued.

Everything a request refers to (dataset, checkpoint, model version or name) must exist and be the
caller's; otherwise the answer is the same as for a thing that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.formats import JPEG_QUALITY
from core.models import Checkpoint, Dataset, Job, ModelVersion
from core.names import check_model_name, derived_model_name
from core.params import resolve_train_params
from core.services import models as model_services
from core.services.job_events import record_status
from core.services.owners import visible
from core.states import JobType
from core.walks import resolve_walk
from gans.contract import ModelKind

DEDUPE_DISTANCE = 4  # of 64 hash bits


def create_train_job(*, session: Session, owner: str, model: str, dataset_id: int, params: dict[str, Any] | None,
                     model_name: str | None = None, resume_from: int | None = None, admin: bool = False) -> Job:
    """A queued train job of `owner` with its params validated and completed.

    With `resume_from` (a checkpoint id), the run starts from that checkpoint and inherits its job's
    params; the given params override them (e.g. a later `epochs` target). The dataset and checkpoint
    must be `owner`'s (any, for an admin); the model name (given, or derived from the dataset's name) must satisfy
    `core.names` and be free or `owner`'s — all checked before the job is stored.
    """
    if model_name is not None:
        check_model_name(model_name)
    scope = None if admin else owner
    checkpoint = _resume_checkpoint(session, model, resume_from, scope) if resume_from is not None else None
    inherited = {k: v for k, v in checkpoint.job.params.items() if k != "model_name"} if checkpoint else {}
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params must be an object", fields={"params": ["Not a valid mapping type."]})
    resolved = resolve_train_params(model, inherited | (params or {}))
    dataset = _dataset(session, dataset_id, scope)
    if dataset.image_count < resolved["batch_size"]:
        raise InvalidInput(
            f"dataset {dataset.id} has {dataset.image_count} images, fewer than batch_size {resolved['batch_size']}; "
            "lower params.batch_size or add images",
            fields={"params": {"batch_size": ["Larger than the dataset."]}},
        )
    resolved["model_name"] = _model_name(session, owner, model_name, derived_model_name(model, dataset.name))
    job = Job(type=JobType.TRAIN, model=model, dataset_id=dataset.id, params=resolved, owner=owner,
              resume_from_checkpoint_id=checkpoint.id if checkpoint else None)
    return _queued(session, job)


def _model_name(session: Session, owner: str, asked: str | None, default: str) -> str:
    """The name to export under: `asked`, which must not be another owner's, or a default free for `owner`.

    Both `default` and its owner-prefixed fallback are slugs (`core.names`), so they satisfy the name rule.
    """
    if asked is not None:
        model_services.require_name_available(session=session, name=check_model_name(asked), owner=owner)
        return asked
    if model_services.name_owner(session=session, name=default) in (None, owner):
        return default
    fallback = derived_model_name(owner, default)
    model_services.require_name_available(session=session, name=fallback, owner=owner)
    return fallback


def _resume_checkpoint(session: Session, model: str, checkpoint_id: int, owner: str | None) -> Checkpoint:
    """The checkpoint a new run may start from: it exists, is `owner`'s, is still on disk and is of the same model."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or not visible(checkpoint.job.owner, owner):
        raise InvalidInput(f"checkpoint {checkpoint_id} does not exist", code="checkpoint_not_found",
                           fields={"resume_from": ["No such checkpoint."]})
    if not checkpoint.kept:
        raise InvalidInput(f"checkpoint {checkpoint_id} was pruned from disk; pick a kept one (see the job's "
                           "checkpoints)", code="checkpoint_pruned", fields={"resume_from": ["Pruned."]})
    if checkpoint.job.model != model:
        raise InvalidInput(f"checkpoint {checkpoint_id} is of a {checkpoint.job.model} run, not {model}",
                           fields={"resume_from": [f"A {checkpoint.job.model} checkpoint."]})
    return checkpoint


@dataclass(frozen=True)
class SourceRef:
    """How a generate/translate request names its model: a version id, or a name with a version or label."""

    model_version_id: int | None = None
    model_name: str | None = None
    version: int | None = None
    label: str | None = None


def create_generate_job(*, session: Session, owner: str, source_ref: SourceRef, seed: int, count: int | None = None,
                        class_counts: dict[str, int] | None = None, max_count: int,
                        options: dict[str, Any] | None = None, walk: dict[str, Any] | None = None,
                        admin: bool = False) -> Job:
    """A queued generate job of `owner` drawing `count` images (or `class_counts` per class, or the frames of a
    latent `walk`, core.walks) from a model version `owner` may see (any, for an admin).

    `options` are the output options (format, quality, grid, shard_size, truncation, dedupe, dedupe_distance).
    """
    options = options or {}
    if count is not None:
        _check_count(count, max_count)
    source = source_version(session=session, ref=source_ref, owner=None if admin else owner)
    if source.kind == ModelKind.IMAGE_TO_IMAGE:  # what the version recorded, not its model's name
        raise InvalidInput(f"model version {source.id} is an image-to-image {source.model} model; "
                           "submit a translate job",
                           fields={"model_version": ["An image-to-image model."]})
    classes = list(source.info.get("classes") or []) if source.kind == ModelKind.CONDITIONAL else []
    if class_counts is not None:
        _check_class_counts(class_counts, classes, source.id)
        count = sum(class_counts.values())
    resolved_walk = resolve_walk(walk, seed=seed, classes=classes, version_id=source.id) if walk is not None else None
    if resolved_walk is not None:
        count, seed = resolved_walk["count"], resolved_walk["seeds"][0]
    assert count is not None
    _check_count(count, max_count)
    params: dict[str, Any] = {"count": count, "seed": seed, **output_params(options)}
    params["truncation"] = options.get("truncation")
    params["dedupe"] = bool(options.get("dedupe", False))
    if params["dedupe"]:
        params["dedupe_distance"] = options.get("dedupe_distance", DEDUPE_DISTANCE)
    if class_counts is not None:
        params["class_counts"] = {name: class_counts.get(name, 0) for name in classes}
    if resolved_walk is not None:
        params["walk"] = {k: v for k, v in resolved_walk.items() if k != "count"}
    job = Job(type=JobType.GENERATE, model=source.model, source_model_version_id=source.id, params=params,
              owner=owner)
    return _queued(session, job)


def output_params(options: dict[str, Any]) -> dict[str, Any]:
    """How a generate/translate job writes images, with defaults filled in (kept with the job, so a resumed
    job shards and encodes exactly as it began)."""
    fmt = options.get("format", "png")
    params = {"format": fmt, "grid": bool(options.get("grid", True)), "shard_size": options["shard_size"]}
    if fmt == "jpeg":
        params["quality"] = options.get("quality", JPEG_QUALITY)
    return params


def _check_count(count: int, max_count: int) -> None:
    if not 1 <= count <= max_count:
        raise InvalidInput(f"a generate job makes 1 to {max_count} images (CATGAN_MAX_GENERATE_COUNT), not {count}",
                           fields={"count": [f"Must be between 1 and {max_count}."]})


def _check_class_counts(class_counts: dict[str, int], classes: list[str], version_id: int) -> None:
    if not classes:
        raise InvalidInput(f"model version {version_id} is not conditional; ask for a count instead",
                           fields={"class_counts": ["The model has no classes."]})
    unknown = sorted(set(class_counts) - set(classes))
    if unknown:
        raise InvalidInput(f"unknown classes {', '.join(unknown)}; the model knows {', '.join(classes)}",
                           fields={"class_counts": [f"Unknown: {', '.join(unknown)}."]})


def create_translate_job(*, session: Session, owner: str, source_ref: SourceRef, dataset_id: int,
                         from_photos: bool = False, options: dict[str, Any] | None = None, admin: bool = False) -> Job:
    """A queued translate job of `owner`: every image of a dataset through an image-to-image model version (both
    `owner`'s, or any for an admin)."""
    scope = None if admin else owner
    source = source_version(session=session, ref=source_ref, owner=scope)
    if source.kind != ModelKind.IMAGE_TO_IMAGE:
        raise InvalidInput(f"model version {source.id} is a {source.kind} {source.model} generator, not an "
                           "image-to-image model",
                           fields={"model_version": ["Not an image-to-image model."]})
    dataset = _dataset(session, dataset_id, scope)
    params = {"from_photos": from_photos, **output_params(options or {})}
    job = Job(type=JobType.TRANSLATE, model=source.model, source_model_version_id=source.id,
              dataset_id=dataset.id, params=params, owner=owner)
    return _queued(session, job)


def source_version(*, session: Session, ref: SourceRef, owner: str | None = None) -> ModelVersion:
    """The served model version a generate/translate job draws from: by id, or by name and version or label;
    one `owner` may see (None: any)."""
    if ref.model_version_id is not None:
        source = _model_version(session, ref.model_version_id, owner)
        model_services.resolve_model_version(session=session, name=source.name, version=source.version)
        return source
    assert ref.model_name is not None
    return model_services.resolve_model_version(session=session, name=ref.model_name, version=ref.version,
                                                label=ref.label, owner=owner)


def _model_version(session: Session, model_version_id: int, owner: str | None) -> ModelVersion:
    version = session.get(ModelVersion, model_version_id)
    if version is None or not visible(version.owner, owner):
        raise InvalidInput(f"model version {model_version_id} does not exist; see GET /v1/models",
                           code="model_version_not_found", fields={"model_version": ["No such model version."]})
    return version


def _dataset(session: Session, dataset_id: int, owner: str | None) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not visible(dataset.owner, owner):
        raise InvalidInput(f"dataset {dataset_id} does not exist; create it with POST /v1/datasets first",
                           code="dataset_not_found", fields={"dataset": ["No such dataset."]})
    return dataset


def _queued(session: Session, job: Job) -> Job:
    """Insert the new job and record its first `status` event (queued), sent when this transaction commits."""
    session.add(job)
    session.flush()
    record_status(session, job_id=job.id, owner=job.owner, status=job.status, previous=None, error=None)
    return job
