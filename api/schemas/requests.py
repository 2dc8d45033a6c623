"""Request schemas: what a client may send, validated with field-level errors."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import ID, LABEL_PATTERN, NAME, SEED, FullMatch
from core.events import EVENT_TYPES
from core.faces import FACE_SIZES
from core.formats import IMAGE_FORMATS, JPEG_QUALITY
from core.names import MODEL_NAME_MAX, MODEL_NAME_PATTERN, MODEL_NAME_RULE
from core.params import StrictBool, StrictFloat, StrictInt
from core.services.job_requests import GENERATE_ONLY_OUTPUT
from core.services.job_requests import OUTPUT_FIELDS as ALL_OUTPUT_FIELDS
from core.states import JobStatus, JobType
from core.walks import (
    DEFAULT_FORMAT,
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    MAX_FPS,
    MAX_FRAMES,
    MAX_SEEDS,
    MAX_WALK_FRAMES,
    MIN_FPS,
    MIN_FRAMES,
    MIN_SEEDS,
    WALK_FORMATS,
)
from core.webhook_targets import URL_MAX_LENGTH

OUTPUT_FIELDS = set(ALL_OUTPUT_FIELDS - GENERATE_ONLY_OUTPUT)  # format, quality, grid, shard_size
SOURCE_FIELDS = {"model_version", "model_name", "version", "label"}
# (required, allowed) fields per job type besides "type"; generate/translate address their model by
# `model_version` (an id) or by `model_name` with an optional `version` or `label`
TYPE_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    JobType.TRAIN: ({"model", "dataset"}, {"model", "dataset", "params", "model_name", "resume_from"}),
    JobType.GENERATE: (set(), SOURCE_FIELDS | OUTPUT_FIELDS | GENERATE_ONLY_OUTPUT | {"count", "class_counts",
                                                                                      "seed", "walk"}),
    JobType.TRANSLATE: ({"dataset"}, SOURCE_FIELDS | OUTPUT_FIELDS | {"dataset", "from_photos"}),
}


class WebhookSchema(Schema):
    """Where a job's events are POSTed, signed (Standard Webhooks); the host must be on
    CATGAN_WEBHOOK_ALLOWED_HOSTS (422 webhook_host_not_allowed)."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=URL_MAX_LENGTH), metadata={
        "description": "http(s) URL without credentials"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), validate=validate.Length(min=1),
                         metadata={"description": f"event types to deliver, of {', '.join(EVENT_TYPES)} "
                                                  "(default [status]; progress at most every "
                                                  "CATGAN_WEBHOOK_PROGRESS_INTERVAL_SECONDS)"})


class WalkSchema(Schema):
    """A latent walk: the generate job's images are the frames of a walk between seeds, and it renders them as
    one animation (artifact kind `walk`). Seed s's point is the latent of image 0 of a plain generate job of
    seed s, so the walk passes through exactly those images; frames between are spherical interpolations."""

    seeds = fields.List(StrictInt(validate=SEED), validate=validate.Length(min=MIN_SEEDS, max=MAX_SEEDS), metadata={
        "description": "the seeds to visit, in order (or give points)"})
    points = StrictInt(validate=validate.Range(min=MIN_SEEDS, max=MAX_SEEDS), metadata={
        "description": "visit this many seeds: the job's seed, seed + 1, ... (or give seeds)"})
    frames = StrictInt(validate=validate.Range(min=MIN_FRAMES, max=MAX_FRAMES), metadata={
        "description": f"frames from one seed to the next (default {DEFAULT_FRAMES}); at most {MAX_WALK_FRAMES} "
                       "in all, the last seed's own frame included"})
    loop = StrictBool(metadata={"description": "walk back to the first seed at the end (default false)"})
    format = fields.String(validate=validate.OneOf(WALK_FORMATS), metadata={
        "description": f"the animation: webp (lossless, default {DEFAULT_FORMAT}) or gif"})
    fps = StrictInt(validate=validate.Range(min=MIN_FPS, max=MAX_FPS), metadata={
        "description": f"frames per second of the animation (default {DEFAULT_FPS})"})
    class_ = fields.String(data_key="class", validate=validate.Length(min=1, max=200), metadata={
        "description": "conditional models: the one class the walk draws (default the model's first)"})

    @validates_schema
    def _seeds_or_points(self, data: dict[str, Any], **_: Any) -> None:
        if ("seeds" in data) == ("points" in data):
            raise ValidationError({"seeds": ["Give either seeds or points."]})


class JobCreateSchema(Schema):
    """train: `{model, dataset, params, model_name?, resume_from?}`; generate: `{model_version | model_name
    [+ version | label], count | class_counts | walk, seed?, format?, quality?, truncation?, grid?, dedupe?,
    shard_size?}`; translate (pix2pix): `{model_version | model_name [+ version | label], dataset, from_photos?,
    format?, ...}`."""

    type = fields.String(required=True, validate=validate.OneOf([t.value for t in JobType]))
    model = fields.String(metadata={"description": "train: the GAN to train, e.g. dcgan"})
    dataset = StrictInt(validate=ID, metadata={"description": "train/translate: dataset id"})
    params = fields.Dict(keys=fields.String(), metadata={
        "description": "train: hyperparameters of `model`, checked against its `<Model>TrainParams` schema"})
    # checked by core.names (one rule for given, derived and path names: 422 invalid_model_name), shown here
    model_name = fields.String(metadata={
        "pattern": f"^{MODEL_NAME_PATTERN.pattern}$", "maxLength": MODEL_NAME_MAX,
        "description": f"train: name to export under; generate/translate: the model to draw from ({MODEL_NAME_RULE})"})
    resume_from = StrictInt(validate=ID, metadata={
        "description": "train: start from this checkpoint id, inheriting its job's params"})
    model_version = StrictInt(validate=ID, metadata={"description": "generate: model version id"})
    version = StrictInt(validate=ID, metadata={
        "description": "generate/translate with model_name: this version (default: the newest served)"})
    label = fields.String(validate=FullMatch(rf"^{LABEL_PATTERN.pattern}$"), metadata={
        "description": "generate/translate with model_name: the version this label points at, e.g. stable"})
    count = StrictInt(validate=validate.Range(min=1), metadata={"description": "generate: how many images"})
    class_counts = fields.Dict(keys=fields.String(), values=StrictInt(validate=validate.Range(min=0)),
                               metadata={"description": "generate (cgan): images per class name"})
    seed = StrictInt(validate=SEED, metadata={"description": "generate: same seed, same images"})
    truncation = StrictFloat(validate=validate.Range(min=0.01, max=10.0), metadata={
        "description": "generate: clip every latent coordinate to [-t, t] (less variety, fewer odd cats)"})
    dedupe = StrictBool(metadata={"description": "generate: drop near-duplicates (perceptual hash)"})
    dedupe_distance = StrictInt(validate=validate.Range(min=0, max=32), metadata={
        "description": "generate: most differing hash bits (of 64) still counted a duplicate; default 4"})
    format = fields.String(validate=validate.OneOf(IMAGE_FORMATS), metadata={"description": "png (default) or jpeg"})
    quality = StrictInt(validate=validate.Range(min=1, max=95),
                        metadata={"description": f"jpeg quality, default {JPEG_QUALITY}"})
    grid = StrictBool(metadata={"description": "also make a preview sheet (default true)"})
    shard_size = StrictInt(validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "images per zip shard (default CATGAN_SHARD_SIZE); at least 100, or the job's image count "
                       "when it is smaller (422 otherwise)"})
    from_photos = StrictBool(metadata={"description": "translate: the dataset holds plain photos; make the input from "
                                       "each the way the model was trained (edges: a sketch; grayscale models "
                                       "make every image grey anyway; an ab model's job fails, saying why)"})
    webhook = fields.Nested(WebhookSchema, metadata={"description": "any job: POST its events to this URL"})
    walk = fields.Nested(WalkSchema, metadata={
        "description": "generate (unconditional or conditional models): the images are the frames of a latent walk "
                       "between seeds, rendered as walk.webp or walk.gif too; instead of count and class_counts"})

    @validates_schema
    def _fields_for_type(self, data: dict[str, Any], **_: Any) -> None:
        """Require the fields of the job's type and refuse the others'."""
        kind = data.get("type")
        if kind not in TYPE_FIELDS:
            return
        required, allowed = TYPE_FIELDS[kind]
        errors = {f: [f"Required for a {kind} job."] for f in sorted(required) if f not in data}
        errors |= {f: [f"Not allowed in a {kind} job."] for f in sorted(set(data) - allowed - {"type", "webhook"})}
        if kind != JobType.TRAIN:
            errors |= _source_errors(data)
        if kind == JobType.GENERATE and "walk" in data:
            errors |= {f: ["Not with walk: its frames are the images."] for f in sorted({"count", "class_counts",
                                                                                       "dedupe"} & set(data))}
        elif kind == JobType.GENERATE and ("count" in data) == ("class_counts" in data):
            errors["count"] = ["Give either count or class_counts (for a conditional model)."]
        if "quality" in data and data.get("format") != "jpeg":
            errors["quality"] = ["Only with format jpeg."]
        if "dedupe_distance" in data and not data.get("dedupe"):
            errors["dedupe_distance"] = ["Only with dedupe: true."]
        if errors:
            raise ValidationError(errors)


def _source_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """A generate/translate job names its model one way: an id, or a name with a version or a label."""
    if ("model_version" in data) == ("model_name" in data):
        return {"model_version": ["Give either model_version (an id) or model_name."]}
    if "model_version" in data and ({"version", "label"} & set(data)):
        return {f: ["Only with model_name."] for f in sorted({"version", "label"} & set(data))}
    if "version" in data and "label" in data:
        return {"label": ["Give either version or label."]}
    return {}


class DatasetFacesSchema(Schema):
    """The faces option of a new dataset: multipart form fields of an upload, or JSON fields of a folder."""

    faces = fields.String(validate=validate.OneOf(["cat"]), metadata={
        "description": "cat: the dataset is the cat faces found in the photos (OpenCV's frontal cat-face cascade), "
                       "each widened to keep ears and chin and cropped square; photos without one are counted"})
    face_size = fields.Integer(validate=validate.OneOf(FACE_SIZES), metadata={
        "description": "the side of every face crop in px (default 64); only with faces"})

    @validates_schema
    def _size_needs_faces(self, data: dict[str, Any], **_: Any) -> None:
        if "face_size" in data and "faces" not in data:
            raise ValidationError({"face_size": ["Only with faces: cat."]})


class DatasetFolderSchema(DatasetFacesSchema):
    name = fields.String(required=True, validate=NAME)
    path = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    face_size = StrictInt(validate=validate.OneOf(FACE_SIZES), metadata={
        "description": "the side of every face crop in px (default 64); only with faces"})


class JobListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in JobStatus]))
    type = fields.String(validate=validate.OneOf([t.value for t in JobType]))
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageQuerySchema(Schema):
    cursor = fields.String(validate=validate.Length(max=100), metadata={"description": "next_cursor of the last page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ArtifactPageQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "only artifacts of this kind, e.g. images_shard"})


class ResultQuerySchema(Schema):
    layout = fields.String(load_default="flat", validate=validate.OneOf(["flat", "shards"]), metadata={
        "description": "flat: every image at the top level; shards: the shard zips (constant memory, for huge jobs)"})


