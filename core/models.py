"""The ORM: datasets, jobs, checkpoints, model versions and artifacts (SQLAlchemy 2.0 typed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.states import JobStatus

LOCAL_OWNER = "local"  # the owner of everything when auth is off, and of rows made before owners existed
MAX_ID = 2**31 - 1  # ids are INTEGER columns (32-bit in PostgreSQL); a larger one cannot name anything


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Dataset(Base):
    """A folder of images a train job reads: uploaded (under the dataset dir) or server-side."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # "upload" | "local" | "faces": the faces cropped from a server-side folder, kept like an upload's images
    source: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)  # absolute for "local", relative to the dataset dir otherwise
    image_count: Mapped[int] = mapped_column(Integer)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    # a face dataset's finder counts (core.faces: kind, face_size, max_per_photo, photos, face_photos,
    # faceless_photos, faces, unreadable); None for a dataset of the images as they came
    faces: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(100), index=True, default=LOCAL_OWNER, server_default=LOCAL_OWNER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A train or generate job; the database row is the source of truth for its parameters."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_type", "status", "type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    model: Mapped[str] = mapped_column(String(32))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    source_model_version_id: Mapped[int | None] = mapped_column(
        # jobs and model_versions point at each other; use_alter breaks the cycle at CREATE time
        ForeignKey("model_versions.id", use_alter=True, name="fk_jobs_source_model_version_id")
    )
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # what a run noticed but did not stop for, e.g. divergence in warn mode
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # {"url", "events"}: where its events are delivered (checked against the allow-list at submit), or None
    webhook: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    resume_from_checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkpoints.id", use_alter=True, name="fk_jobs_resume_from_checkpoint_id")
    )
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(100), index=True, default=LOCAL_OWNER, server_default=LOCAL_OWNER)
    # the lease: which worker runs the job, until when it is presumed alive (renewed by its heartbeat)
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # claims so far
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    dataset: Mapped[Dataset | None] = relationship()
    source_model_version: Mapped[ModelVersion | None] = relationship(foreign_keys=[source_model_version_id])
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="job", order_by="Artifact.id")
    checkpoints: Mapped[list[Checkpoint]] = relationship(
        back_populates="job", order_by="Checkpoint.id", foreign_keys="Checkpoint.job_id"
    )
    resume_from: Mapped[Checkpoint | None] = relationship(foreign_keys=[resume_from_checkpoint_id])
    model_versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="job", foreign_keys="ModelVersion.job_id", order_by="ModelVersion.id"
    )


class Checkpoint(Base):
    """A saved training state (weights, optimizers, counters) a run can resume from."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)  # checkpoint prefix, relative to the checkpoint dir
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kept: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # False once pruned
    best: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # best quality figure
    digest: Mapped[str | None] = mapped_column(String(64))  # sha256 over the checkpoint's files, checked on restore
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(back_populates="checkpoints", foreign_keys=[job_id])


class ModelVersion(Base):
    """An exported generator (SavedModel) in the model repository: `<name>/<version>/`."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    path: Mapped[str] = mapped_column(Text)  # relative to the model repository
    # what the model declared (gans.contract): "unconditional", "conditional" or "image-to-image", and the
    # signature its export serves ({"key", "inputs", "outputs"}: names, dtypes, shapes) that backends call
    kind: Mapped[str] = mapped_column(String(32))
    signature: Mapped[dict[str, Any]] = mapped_column()
    image_size: Mapped[int] = mapped_column(Integer)
    z_dim: Mapped[int] = mapped_column(Integer)  # the latent's length; 0 when the model takes none (API field)
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)  # step, metrics, classes (label i = classes[i])
    owner: Mapped[str] = mapped_column(String(100), index=True, default=LOCAL_OWNER, server_default=LOCAL_OWNER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    job: Mapped[Job | None] = relationship(back_populates="model_versions", foreign_keys=[job_id])


class Artifact(Base):
    """A file a job produced (sample grid, image archive...), stored under the artifact dir; one row per name."""

    __tablename__ = "artifacts"
    # a name written again (loss-curve.png, a sample sheet after a resume) replaces its file: one row describes it
    __table_args__ = (UniqueConstraint("job_id", "name", name="uq_artifacts_job_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)  # relative to the artifact dir
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(back_populates="artifacts")


class ModelLabel(Base):
    """A version label of a model name (`stable`, `canary`): TF Serving's `version_labels`."""

    __tablename__ = "model_labels"
    __table_args__ = (UniqueConstraint("name", "label", name="uq_model_labels_name_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelPolicy(Base):
    """Which versions of a model name are served; no row (or null versions) serves them all."""

    __tablename__ = "model_policies"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    versions: Mapped[list[int] | None] = mapped_column(JSON)  # pinned versions, or None for all
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """A bearer token of an owner; only its sha256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart in listings
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """The first response to a request sent with an `Idempotency-Key`, replayed for its repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "endpoint", "key", name="uq_idempotency_keys_owner_endpoint_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    endpoint: Mapped[str] = mapped_column(String(64))  # e.g. "POST /v1/jobs"
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ProgressSample(Base):
    """One progress report of a train job (losses, speed, SWD when measured): the history its curves are drawn from."""

    __tablename__ = "progress_samples"
    __table_args__ = (Index("ix_progress_samples_job_id_step", "job_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[int | None] = mapped_column(Integer)
    g_loss: Mapped[float | None] = mapped_column(Float)
    d_loss: Mapped[float | None] = mapped_column(Float)
    images_per_second: Mapped[float | None] = mapped_column(Float)
    swd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookSecret(Base):
    """An owner's webhook signing secret (Standard Webhooks `whsec_<base64>`); never logged, replaced on rotation."""

    __tablename__ = "webhook_secrets"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"WebhookSecret(owner={self.owner!r}, secret=<hidden>)"


class WebhookDelivery(Base):
    """One attempt to deliver one webhook message (its `webhook-id`) of a job: the answer's status or the error."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(64))  # the webhook-id header, the same across retries
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for the first
    status_code: Mapped[int | None] = mapped_column(Integer)  # the receiver's answer, None when none came
    error: Mapped[str | None] = mapped_column(Text)  # why no answer came, or why nothing was sent
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
