"""Models: exported generators by name, which versions are served, and version labels (stable, canary)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api import auth
from api.context import context, transaction
from api.presenters import present_model_version
from api.schemas import (
    LABEL_PATTERN,
    ErrorSchema,
    ItemsSchema,
    LabelSchema,
    ModelSchema,
    ModelVersionSchema,
    PolicySchema,
)
from api.validation import json_body, load
from core.errors import InvalidInput
from core.models import ModelVersion
from core.services import models as service
from core.serving_config import serving_change

blp = Blueprint("models", __name__, url_prefix="/v1", description="Exported generators, served versions, labels")


@blp.route("/models", methods=["GET"])
@blp.response(200, ItemsSchema)
def list_models() -> ResponseReturnValue:
    """Every model name with its versions, served versions and labels."""
    with transaction() as session:
        versions = service.list_model_versions(session=session, owner=auth.scope())
        groups = groupby(versions, key=lambda v: v.name)
        return {"items": [_model(session, name, list(group)) for name, group in groups]}


@blp.route("/models/<name>", methods=["GET"])
@blp.response(200, ModelSchema)
def get_model(name: str) -> ResponseReturnValue:
    """One model name."""
    with transaction() as session:
        return _model(session, name, service.model_versions_of(session=session, name=name, owner=auth.scope()))


@blp.route("/models/<name>/labels/<label>", methods=["PUT"])
@blp.doc(requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Label"}}}})
@blp.response(200, ModelSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The version is not served (pin it first).")
def put_label(name: str, label: str) -> ResponseReturnValue:
    """Point a label (e.g. `stable`, `canary`) at a served version; TF Serving routes it from models.config."""
    _check_label(label)
    version = load(LabelSchema(), json_body())["version"]
    with serving_change(context().sessions, context().settings) as session:
        service.set_label(session=session, name=name, label=label, version=version, owner=auth.scope())
        return _model(session, name, service.model_versions_of(session=session, name=name, owner=auth.scope()))


@blp.route("/models/<name>/labels/<label>", methods=["DELETE"])
@blp.response(200, ModelSchema)
def delete_label(name: str, label: str) -> ResponseReturnValue:
    """Remove a label."""
    with serving_change(context().sessions, context().settings) as session:
        service.remove_label(session=session, name=name, label=label, owner=auth.scope())
        return _model(session, name, service.model_versions_of(session=session, name=name, owner=auth.scope()))


@blp.route("/models/<name>/policy", methods=["PUT"])
@blp.doc(requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Policy"}}}})
@blp.response(200, ModelSchema)
@blp.alt_response(409, schema=ErrorSchema, description="A label points at a version the policy stops serving.")
def put_policy(name: str) -> ResponseReturnValue:
    """Pin the served versions (`{"versions": [1, 3]}`), or serve all again (`{"versions": null}`)."""
    versions = load(PolicySchema(), json_body())["versions"]
    with serving_change(context().sessions, context().settings) as session:
        service.set_policy(session=session, name=name, versions=versions, owner=auth.scope())
        return _model(session, name, service.model_versions_of(session=session, name=name, owner=auth.scope()))


@blp.route("/model-versions/<int:model_version_id>", methods=["GET"])
@blp.response(200, ModelVersionSchema)
def get_model_version(model_version_id: int) -> ResponseReturnValue:
    """One exported generator."""
    with transaction() as session:
        version = service.get_model_version(session=session, model_version_id=model_version_id, owner=auth.scope())
        return present_model_version(version)


def _check_label(label: str) -> None:
    if not LABEL_PATTERN.fullmatch(label):
        raise InvalidInput(f"label {label!r} is not valid: use 1-64 lowercase letters, digits, '_' or '-', "
                           "starting with a letter", fields={"label": ["Invalid label."]})


def _model(session: Session, name: str, versions: list[ModelVersion]) -> dict[str, Any]:
    return {"name": name, "latest_version": versions[-1].version,
            "served_versions": service.served_version_numbers(session=session, name=name),
            "pinned_versions": service.pinned_versions(session=session, name=name),
            "labels": service.labels_of(session=session, name=name),
            "versions": [present_model_version(v) for v in versions]}
