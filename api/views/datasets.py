"""Datasets: upload an archive or register a server-side folder, either as they are or as their cat faces."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api import auth
from api.context import context, transaction
from api.idempotency import HEADER_DOC, hashed_upload, idempotent, remember
from api.presenters import present_dataset
from api.schemas import DatasetFacesSchema, DatasetFolderSchema, DatasetSchema, ErrorSchema, ItemsSchema
from api.validation import json_body, load
from core.errors import InvalidInput, UnsupportedMediaType
from core.faces import FaceOptions
from core.services import datasets as service
from core.services.thumbnails import dataset_sheet

blp = Blueprint("datasets", __name__, url_prefix="/v1/datasets", description="Image datasets")

UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "zip or tar of images"},
            "name": {"type": "string"},
            "faces": {"type": "string", "enum": ["cat"], "description": "keep only the cat faces found"},
            "face_size": {"type": "integer", "enum": [32, 64, 128], "description": "px; only with faces"}}}},
        "application/json": {"schema": {"$ref": "#/components/schemas/DatasetFolder"}},
    }
}


@blp.route("", methods=["POST"])
@idempotent("POST /v1/datasets", DatasetSchema)
@blp.doc(requestBody=UPLOAD_BODY, parameters=[HEADER_DOC])
@blp.response(201, DatasetSchema)
@blp.alt_response(403, schema=ErrorSchema,
                  description="Server-side folders are disabled (CATGAN_ALLOW_LOCAL_PATHS=false, "
                  "`local_paths_disabled`), or the key is not an admin's (`admin_required`).")
@blp.alt_response(409, schema=ErrorSchema, description="The Idempotency-Key was used with another body.")
@blp.alt_response(413, schema=ErrorSchema,
                  description="The upload, or what it unpacks to, is over a limit (size, files, compression ratio, "
                  "tar headers), or a server-side folder holds too many entries or is too deep.")
def create_dataset() -> ResponseReturnValue:
    """Upload a zip/tar of images, or register a server-side folder (JSON `{name, path}`, admin keys only).

    With `faces: cat` (a form field of the upload, or a JSON field) the dataset is the cat faces found in
    the photos, `face_size` px square; its `faces` counts the photos with and without one (422 `no_faces`
    when none has one).
    """
    if request.mimetype == "multipart/form-data":
        dataset = _create_from_upload()
    elif request.is_json:
        dataset = _create_from_folder(load(DatasetFolderSchema(), json_body()))
    else:
        raise UnsupportedMediaType("send multipart/form-data with a `file`, or JSON {\"name\", \"path\"}")
    return dataset, 201, _location(dataset)


def _location(body: dict[str, Any]) -> dict[str, str]:
    return {"Location": f"/v1/datasets/{body['id']}"}


def _remembered(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """`body`, stored in the creating transaction for repeats of the request's Idempotency-Key."""
    remember(session, body, 201, _location(body))
    return body


def _create_from_upload() -> dict[str, Any]:
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("attach the archive as the multipart field `file`", fields={"file": ["Missing file."]})
    name = service.name_upload(given=request.form.get("name"), filename=upload.filename)
    option = load(DatasetFacesSchema(), {k: v for k, v in request.form.items() if k in ("faces", "face_size")})
    with transaction() as session:
        dataset = service.create_dataset_from_upload(
            session=session, settings=context().settings, name=name, upload=hashed_upload(upload),
            owner=auth.owner(), admin=auth.is_admin(), faces=_face_options(option))
        return _remembered(session, present_dataset(dataset))


def _create_from_folder(data: dict[str, Any]) -> dict[str, Any]:
    faces = _face_options(data)
    with transaction() as session:
        dataset = service.create_dataset_from_folder(session=session, settings=context().settings,
                                                     owner=auth.owner(), admin=auth.is_admin(),
                                                     name=data["name"], path=data["path"], faces=faces)
        return _remembered(session, present_dataset(dataset))


def _face_options(data: dict[str, Any]) -> FaceOptions | None:
    """The validated faces option, or None for a dataset of the images as they are."""
    if data.get("faces") != "cat":
        return None
    return FaceOptions(face_size=data.get("face_size", FaceOptions.face_size))


@blp.route("", methods=["GET"])
@blp.response(200, ItemsSchema)
def list_datasets() -> ResponseReturnValue:
    """All datasets, newest first."""
    with transaction() as session:
        return {"items": [present_dataset(d) for d in service.list_datasets(session=session, owner=auth.scope())]}


@blp.route("/<int:dataset_id>", methods=["GET"])
@blp.response(200, DatasetSchema)
def get_dataset(dataset_id: int) -> ResponseReturnValue:
    """One dataset."""
    with transaction() as session:
        return present_dataset(service.get_dataset(session=session, dataset_id=dataset_id, owner=auth.scope()))


@blp.route("/<int:dataset_id>/sheet", methods=["GET"])
@blp.doc(responses={200: {"description": "A PNG at least 512 px wide.",
                          "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(404, schema=ErrorSchema, description="No such dataset (or not yours).")
def get_sheet(dataset_id: int) -> ResponseReturnValue:
    """A contact sheet: a face dataset's first 64 crops, enlarged pixel for pixel; else a sample of its images."""
    with transaction() as session:
        dataset = service.get_dataset(session=session, dataset_id=dataset_id, owner=auth.scope())
        path = dataset_sheet(dataset, context().settings)
    return Response(path.read_bytes(), mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})
