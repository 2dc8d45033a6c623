"""Request and response schemas: validation with field-level errors, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.params import StrictBool, StrictInt
from core.states import JobStatus, JobType

NAME = validate.Length(min=1, max=200)
MODEL_NAME = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,99}$",
                             error="Use 1-100 lowercase letters, digits, '.', '_' or '-', starting alphanumeric.")
SEED = validate.Range(min=0, max=2**31 - 1)

# (required, allowed) fields per job type besides "type"
TYPE_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    JobType.TRAIN: ({"model", "dataset"}, {"model", "dataset", "params", "model_name", "resume_from"}),
    JobType.GENERATE: ({"model_version"}, {"model_version", "count", "class_counts", "seed"}),
    JobType.TRANSLATE: ({"model_version", "dataset"}, {"model_version", "dataset", "from_photos"}),
}


class JobCreateSchema(Schema):
    """train: `{model, dataset, params, model_name?, resume_from?}`; generate: `{model_version, count |
    class_counts, seed?}`; translate (pix2pix): `{model_version, dataset, from_photos?}`."""

    type = fields.String(required=True, validate=validate.OneOf([t.value for t in JobType]))
    model = fields.String(metadata={"description": "train: the GAN to train, e.g. dcgan"})
    dataset = StrictInt(validate=validate.Range(min=1), metadata={"description": "train/translate: dataset id"})
    params = fields.Dict(keys=fields.String(), metadata={"description": "train: hyperparameters (see README)"})
    model_name = fields.String(validate=MODEL_NAME, metadata={"description": "train: name to export under"})
    resume_from = StrictInt(validate=validate.Range(min=1), metadata={
        "description": "train: start from this checkpoint id, inheriting its job's params"})
    model_version = StrictInt(validate=validate.Range(min=1), metadata={"description": "generate: model version id"})
    count = StrictInt(validate=validate.Range(min=1), metadata={"description": "generate: how many images"})
    class_counts = fields.Dict(keys=fields.String(), values=StrictInt(validate=validate.Range(min=0)),
                               metadata={"description": "generate (cgan): images per class name"})
    seed = StrictInt(validate=SEED, metadata={"description": "generate: same seed, same images"})
    from_photos = StrictBool(metadata={"description": "translate: draw edge sketches from photos first"})

    @validates_schema
    def _fields_for_type(self, data: dict[str, Any], **_: Any) -> None:
        """Require the fields of the job's type and refuse the others'."""
        kind = data.get("type")
        if kind not in TYPE_FIELDS:
            return
        required, allowed = TYPE_FIELDS[kind]
        errors = {f: [f"Required for a {kind} job."] for f in sorted(required) if f not in data}
        errors |= {f: [f"Not allowed in a {kind} job."] for f in sorted(set(data) - allowed - {"type"})}
        if kind == JobType.GENERATE and ("count" in data) == ("class_counts" in data):
            errors["count"] = ["Give either count or class_counts (for a conditional model)."]
        if errors:
            raise ValidationError(errors)


class DatasetFolderSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    path = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class JobListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in JobStatus]))
    type = fields.String(validate=validate.OneOf([t.value for t in JobType]))
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DatasetSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    source = fields.String(metadata={"description": "upload | local"})
    image_count = fields.Integer()
    skipped_count = fields.Integer(metadata={"description": "files that were not readable images"})
    total_bytes = fields.Integer()
    content_hash = fields.String()
    created_at = fields.DateTime()


class ArtifactSchema(Schema):
    id = fields.Integer()
    job_id = fields.Integer()
    kind = fields.String(metadata={"description": "sample_grid | images | preview_grid"})
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    info = fields.Dict()
    created_at = fields.DateTime()
    url = fields.String(metadata={"description": "where to download the content"})


class ProgressSchema(Schema):
    fraction = fields.Float(allow_none=True)
    epoch = fields.Integer(allow_none=True)
    step = fields.Integer(allow_none=True)
    total_steps = fields.Integer(allow_none=True)
    eta_seconds = fields.Float(allow_none=True)
    images_per_second = fields.Float(allow_none=True)
    g_loss = fields.Float(allow_none=True)
    d_loss = fields.Float(allow_none=True)
    images_done = fields.Integer(allow_none=True)


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
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    model_version = fields.Integer(allow_none=True, metadata={
        "description": "train: the version it exported; generate: the version it draws from"})
    checkpoints = fields.List(fields.Dict())
    warnings = fields.List(fields.String())
    resume_from = fields.Integer(allow_none=True, metadata={"description": "the checkpoint this run started from"})
    artifacts = fields.List(fields.Nested(ArtifactSchema))


class JobPageSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))
    next_cursor = fields.String(allow_none=True)


class ModelVersionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    version = fields.Integer()
    model = fields.String()
    job_id = fields.Integer(allow_none=True)
    image_size = fields.Integer()
    z_dim = fields.Integer()
    info = fields.Dict()
    created_at = fields.DateTime()


class ModelSchema(Schema):
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.List(fields.Nested(ModelVersionSchema))


class ItemsSchema(Schema):
    items = fields.List(fields.Dict())


class ErrorSchema(Schema):
    error = fields.Dict(metadata={"description": '{"code": "...", "message": "...", "fields": {...}}'})
