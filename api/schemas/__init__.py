"""Request and response schemas: validation with field-level errors, and the OpenAPI document."""

from api.schemas.common import ID, LABEL_PATTERN, NAME, SEED, FullMatch, Timestamp
from api.schemas.requests import (
    OUTPUT_FIELDS,
    SOURCE_FIELDS,
    TYPE_FIELDS,
    ArtifactPageQuerySchema,
    DatasetFacesSchema,
    DatasetFolderSchema,
    JobCreateSchema,
    JobListQuerySchema,
    PageQuerySchema,
    ResultQuerySchema,
    WalkSchema,
    WebhookSchema,
)
from api.schemas.responses import (
    RECORD_FIELD_TYPES,
    ArtifactPageSchema,
    ArtifactSchema,
    CheckpointPageSchema,
    CheckpointSchema,
    DatasetSchema,
    ErrorBodySchema,
    ErrorSchema,
    ItemsSchema,
    JobPageSchema,
    JobSchema,
    LabelSchema,
    ModelSchema,
    ModelVersionSchema,
    PolicySchema,
    ProgressSchema,
    derive_record_schema,
)

__all__ = [
    "NAME", "ID", "Timestamp", "FullMatch", "SEED", "LABEL_PATTERN", "OUTPUT_FIELDS", "SOURCE_FIELDS",
    "TYPE_FIELDS", "WebhookSchema", "WalkSchema", "JobCreateSchema", "DatasetFacesSchema",
    "DatasetFolderSchema", "JobListQuerySchema", "PageQuerySchema", "ArtifactPageQuerySchema",
    "ResultQuerySchema", "DatasetSchema", "ArtifactSchema", "CheckpointSchema", "ArtifactPageSchema",
    "CheckpointPageSchema", "RECORD_FIELD_TYPES", "derive_record_schema", "ProgressSchema", "JobSchema",
    "JobPageSchema", "ModelVersionSchema", "ModelSchema", "LabelSchema", "PolicySchema", "ItemsSchema",
    "ErrorBodySchema", "ErrorSchema",
]
