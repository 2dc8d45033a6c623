"""The shapes the catgan API answers with (api/schemas/responses.py), as TypedDicts for the client's callers.

They are plain dicts at run time: fields a newer server adds pass through untouched (forward compatible),
and `total=False` because a field may be missing from an older server's answer.
"""

from __future__ import annotations

from typing import Any, Generic, TypedDict, TypeVar

Json = dict[str, Any]
T = TypeVar("T")


class Progress(TypedDict, total=False):
    fraction: float | None
    epoch: int | None
    step: int | None
    total_steps: int | None
    eta_seconds: float | None
    images_per_second: float | None
    g_loss: float | None
    d_loss: float | None
    images_done: int | None
    duplicates_dropped: int | None
    shards_done: int | None
    shards_total: int | None


class Artifact(TypedDict, total=False):
    id: int
    job_id: int
    kind: str  # sample_grid | loss_curve | tensorboard | images_shard | preview_grid ...
    name: str
    size: int
    sha256: str
    content_type: str
    info: Json
    created_at: str
    url: str


class Checkpoint(TypedDict, total=False):
    id: int
    job_id: int
    step: int
    epoch: int
    metrics: Json
    kept: bool
    best: bool
    created_at: str


class Job(TypedDict, total=False):
    id: int
    type: str  # train | generate | translate
    status: str  # queued | running | succeeded | failed | cancelled
    model: str
    dataset: int | None
    params: Json
    progress: Progress
    metrics: Json
    error: str | None
    cancel_requested: bool
    owner: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    model_version: int | None
    checkpoint_count: int
    checkpoints: list[Checkpoint]
    warnings: list[str]
    resume_from: int | None
    artifact_count: int
    artifacts: list[Artifact]


class Dataset(TypedDict, total=False):
    id: int
    name: str
    source: str  # upload | local | faces
    image_count: int
    skipped_count: int
    held_out_count: int  # images never trained on, quality is measured against (gans.holdout's rule)
    total_bytes: int
    content_hash: str
    faces: dict[str, Any] | None  # a face dataset's counts: photos, face_photos, faceless_photos, faces, ...
    sheet_url: str
    owner: str
    created_at: str


class ModelVersion(TypedDict, total=False):
    id: int
    name: str
    version: int
    model: str
    kind: str  # unconditional, conditional or image-to-image
    signature: Json  # {key, inputs, outputs}: what its export serves
    job_id: int | None
    image_size: int
    z_dim: int
    info: Json
    owner: str
    created_at: str


class ModelInfo(TypedDict, total=False):
    name: str
    latest_version: int
    served_versions: list[int]
    pinned_versions: list[int] | None
    labels: dict[str, int]
    versions: list[ModelVersion]


class Readiness(TypedDict, total=False):
    status: str  # ready | not ready
    checks: dict[str, str]  # part → ok | down


class Page(TypedDict, Generic[T]):
    """One page of a listing; pass `next_cursor` back as `cursor` for the next (None: this was the last)."""

    items: list[T]
    next_cursor: str | None
