"""Artifacts: metadata and downloads (ETag from the sha256, Range requests supported)."""

from __future__ import annotations

from flask import send_file
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from api import auth
from api.context import context, transaction
from api.presenters import present_artifact
from api.schemas import ArtifactSchema, ErrorSchema
from core.services import artifacts as service

blp = Blueprint("artifacts", __name__, url_prefix="/v1/artifacts", description="Files jobs produced")


@blp.route("/<int:artifact_id>", methods=["GET"])
@blp.response(200, ArtifactSchema)
def get_artifact(artifact_id: int) -> ResponseReturnValue:
    """One artifact's metadata."""
    with transaction() as session:
        return present_artifact(service.get_artifact(session=session, artifact_id=artifact_id, owner=auth.scope()))


@blp.route("/<int:artifact_id>/content", methods=["GET"])
@blp.doc(responses={200: {"description": "The file."}, 206: {"description": "A byte range of the file."},
                    304: {"description": "Not modified (If-None-Match matched the ETag)."},
                    416: {"description": "The Range lies outside the file."}})
@blp.alt_response(409, schema=ErrorSchema, description="The stored file no longer matches its recorded hash.")
def download_artifact(artifact_id: int) -> ResponseReturnValue:
    """Download the file, with Content-Type, Content-Length and an ETag."""
    with transaction() as session:
        artifact = service.get_artifact(session=session, artifact_id=artifact_id, owner=auth.scope())
        path = service.artifact_file(artifact, context().settings)
        name, content_type, sha256 = artifact.name, artifact.content_type, artifact.sha256
    return send_file(path, mimetype=content_type, as_attachment=True, download_name=name, etag=sha256,
                     conditional=True, max_age=0)
