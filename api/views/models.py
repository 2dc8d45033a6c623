"""Models: the exported generators, grouped by name."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from api.context import transaction
from api.presenters import present_model_version
from api.schemas import ItemsSchema, ModelVersionSchema
from core.services import models as service

blp = Blueprint("models", __name__, url_prefix="/v1", description="Exported generators")


@blp.route("/models", methods=["GET"])
@blp.response(200, ItemsSchema)
def list_models() -> ResponseReturnValue:
    """Every model name with its versions."""
    with transaction() as session:
        versions = service.list_model_versions(session=session)
        return {"items": [_model(name, list(group)) for name, group in groupby(versions, key=lambda v: v.name)]}


def _model(name: str, versions: list[Any]) -> dict[str, Any]:
    return {"name": name, "latest_version": versions[-1].version,
            "versions": [present_model_version(v) for v in versions]}


@blp.route("/model-versions/<int:model_version_id>", methods=["GET"])
@blp.response(200, ModelVersionSchema)
def get_model_version(model_version_id: int) -> ResponseReturnValue:
    """One exported generator."""
    with transaction() as session:
        return present_model_version(service.get_model_version(session=session, model_version_id=model_version_id))
