"""Response schemas: what the API answers, and so what the OpenAPI document shows."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ID, Timestamp
from core.params import StrictInt
from core.records import PROGRESS_RECORDS, list_record_fields


class DatasetSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    source = fields.String(metadata={"description": "upload | local | faces (the faces of a server-side folder)"})
    image_count = fields.Integer()
    skipped_count = fields.Integer(metadata={"description": "files that were not readable images"})
    held_out_count = fields.Integer(metadata={
        "description": "images held out of training to measure quality against: 10% (rounded down) of "
                       "image_count up to 1,000, none below 100 images (README: Held-out images)"})
    total_bytes = fields.Integer()
    content_hash = fields.String()
    faces = fields.Dict(allow_none=True, metadata={
        "description": "a face dataset's counts: photos (decoded), face_photos, faceless_photos, faces (the crops, "
                       "= image_count), unreadable, with kind, face_size, max_per_photo (and folder); null otherwise"})
    sheet_url = fields.String(metadata={"description": "a contact sheet of its images (PNG, >= 512 px wide)"})
    owner = fields.String(metadata={"description": "whose it is (only they and admins see it)"})
    created_at = Timestamp()


class ArtifactSchema(Schema):
    id = fields.Integer()
    job_id = fields.Integer()
    kind = fields.String(metadata={
        "description": "sample_grid | loss_curve | tensorboard | images_shard | preview_grid | walk"})
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    info = fields.Dict()
    created_at = Timestamp()
    url = fields.String(metadata={"description": "where to download the content"})


class CheckpointSchema(Schema):
    id = fields.Integer()
    job_id = fields.Integer()
    step = fields.Integer()
    epoch = fields.Integer()
    metrics = fields.Dict()
    kept = fields.Boolean(metadata={"description": "still on disk (false once pruned)"})
    best = fields.Boolean(metadata={"description": "the best by sliced Wasserstein distance"})
    created_at = fields.String(metadata={"description": "RFC 3339 date-time"})


class ArtifactPageSchema(Schema):
    items = fields.List(fields.Nested(ArtifactSchema))
    next_cursor = fields.String(allow_none=True)


class CheckpointPageSchema(Schema):
    items = fields.List(fields.Nested(CheckpointSchema))
    next_cursor = fields.String(allow_none=True)


RECORD_FIELD_TYPES: dict[type, type[fields.Field]] = {int: fields.Integer, float: fields.Float, bool: fields.Boolean,
                                                      str: fields.String}


def derive_record_schema(name: str, *records: type, **extra: fields.Field) -> type[Schema]:
    """A response schema of `extra` and one nullable field per field of the records (core.records): a field added
    to a record is served and documented with no other change."""
    derived = {field: RECORD_FIELD_TYPES[kind](allow_none=True) for field, kind in list_record_fields(*records).items()}
    return Schema.from_dict(extra | derived, name=name)


# a train job's TrainProgress or a bulk job's BulkProgress, with the completed fraction
ProgressSchema = derive_record_schema("ProgressSchema", *PROGRESS_RECORDS, fraction=fields.Float(allow_none=True))


class JobSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    status = fields.String()
    model = fields.String()
    dataset = fields.Integer(allow_none=True)
    params = fields.Dict()
    progress = fields.Nested(ProgressSchema)
    metrics = fields.Dict()
    error = fields.String(allow_none=True)
    cancel_requested = fields.Boolean()
    owner = fields.String(metadata={"description": "who submitted it (only they and admins see it)"})
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
    model_version = fields.Integer(allow_none=True, metadata={
        "description": "train: the version it exported; generate: the version it draws from"})
    checkpoint_count = fields.Integer(metadata={"description": "all its checkpoints: GET /v1/jobs/{id}/checkpoints"})
    checkpoints = fields.List(fields.Nested(CheckpointSchema), metadata={"description": "the newest 5, oldest first"})
    warnings = fields.List(fields.String())
    resume_from = fields.Integer(allow_none=True, metadata={"description": "the checkpoint this run started from"})
    artifact_count = fields.Integer(metadata={"description": "all its artifacts: GET /v1/jobs/{id}/artifacts"})
    artifacts = fields.List(fields.Nested(ArtifactSchema), metadata={"description": "the newest 5, oldest first"})


class JobPageSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))
    next_cursor = fields.String(allow_none=True)


class ModelVersionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    version = fields.Integer()
    model = fields.String()
    kind = fields.String(metadata={"description": "what the model declared: unconditional, conditional (draws the "
                                   "classes of info.classes) or image-to-image (translate jobs)"})
    signature = fields.Dict(metadata={"description": "what its export serves: {key, inputs, outputs}, each tensor "
                                      "{name, dtype, shape} (null: any size)"})
    job_id = fields.Integer(allow_none=True)
    image_size = fields.Integer()
    z_dim = fields.Integer(metadata={"description": "length of the latent input z; 0 when it takes none"})
    info = fields.Dict()
    owner = fields.String(metadata={"description": "whose model name it is (the first to publish it)"})
    created_at = Timestamp()


class ModelSchema(Schema):
    name = fields.String()
    latest_version = fields.Integer()
    served_versions = fields.List(fields.Integer(), metadata={"description": "what models.config serves"})
    pinned_versions = fields.List(fields.Integer(), allow_none=True, metadata={
        "description": "the pinned versions, or null when every version is served"})
    labels = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "label → version"})
    versions = fields.List(fields.Nested(ModelVersionSchema))


class LabelSchema(Schema):
    version = StrictInt(required=True, validate=ID, metadata={
        "description": "the version the label points at"})


class PolicySchema(Schema):
    versions = fields.List(StrictInt(validate=ID), required=True, allow_none=True,
                           validate=validate.Length(min=1, max=100), metadata={
                               "description": "versions to serve; null serves all"})


class ItemsSchema(Schema):
    items = fields.List(fields.Dict())


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable, e.g. validation_error"})
    message = fields.String(required=True, metadata={"description": "what went wrong and what to do about it"})
    field_errors = fields.Dict(data_key="fields", metadata={
        "description": "messages by request field, for a 422: {\"count\": [\"Must be at least 1.\"]}"})


class ErrorSchema(Schema):
    """Every error the API sends."""

    error = fields.Nested(ErrorBodySchema, required=True)
