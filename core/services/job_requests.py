"""A job request as the API parsed it, and the one call that submits (or resumes) it.

`submit_job` decides everything a view used to: which kind of job, the seed of a generate job, the
default shard size, the shard-size floor, and the owner's quotas (admins are exempt). The view only
parses the body into a `JobRequest`, calls, presents, and enqueues after the commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.orm import Session

from core.models import Job
from core.params import check_shard_size
from core.services import jobs, quotas, submissions, webhooks
from core.services.submissions import SourceRef
from core.settings import Settings
from core.states import JobType

MAX_SEED = 2**31 - 1  # seeds are drawn from [0, MAX_SEED]; the API accepts the same range


@dataclass(frozen=True)
class Requester:
    """Who asks: the owner new jobs belong to, and whether they are an admin (sees all, no quotas)."""

    owner: str
    admin: bool = False

    @property
    def scope(self) -> str | None:
        """The owner whose things the requester may name, or None for an admin (any)."""
        return None if self.admin else self.owner


@dataclass(frozen=True)
class OutputOptions:
    """How a generate or translate job writes its images; None: not given (the defaults apply)."""

    format: str | None = None
    quality: int | None = None
    grid: bool | None = None
    shard_size: int | None = None
    truncation: float | None = None  # generate only
    dedupe: bool | None = None  # generate only
    dedupe_distance: int | None = None  # generate only

    def given(self, settings: Settings) -> dict[str, Any]:
        """The options that were given, and shard_size (CATGAN_SHARD_SIZE when not)."""
        options = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        return {"shard_size": settings.shard_size} | options


OUTPUT_FIELDS = frozenset(f.name for f in fields(OutputOptions))
GENERATE_ONLY_OUTPUT = frozenset({"truncation", "dedupe", "dedupe_distance"})


@dataclass(frozen=True)
class JobRequest:
    """A validated POST /v1/jobs body: `type` says which of the other fields apply."""

    type: JobType
    model: str | None = None  # train
    dataset_id: int | None = None  # train, translate
    params: dict[str, Any] | None = None  # train
    model_name: str | None = None  # train: the name to export under
    resume_from: int | None = None  # train: a checkpoint id
    source: SourceRef | None = None  # generate, translate: the model version drawn from
    count: int | None = None  # generate
    class_counts: dict[str, int] | None = None  # generate, conditional models
    seed: int | None = None  # generate; drawn when None
    from_photos: bool = False  # translate
    walk: dict[str, Any] | None = None  # generate: a latent walk instead of count (core.walks)
    output: OutputOptions = OutputOptions()
    webhook: dict[str, Any] | None = None  # any type: {url, events?}, checked against the allow-list


def submit_job(*, session: Session, request: JobRequest, requester: Requester, settings: Settings) -> Job:
    """Add the queued job `request` asks for, checked and held to the requester's quotas (not yet committed)."""
    webhook = webhooks.check_webhook(request.webhook, settings)  # before anything is stored
    job = _create(session, request, requester, settings)
    job.webhook = webhook
    if job.type != JobType.TRAIN:
        count = job.params["count"] if job.type == JobType.GENERATE else job.dataset.image_count
        check_shard_size(shard_size=job.params["shard_size"], count=count)
    check_job_quotas(session=session, job=job, requester=requester, settings=settings)
    return job


def resume_job(*, session: Session, job_id: int, requester: Requester, settings: Settings) -> Job:
    """Queue a failed or cancelled job again, held to the requester's quotas like a new one."""
    job = jobs.resume_job(session=session, job_id=job_id, owner=requester.scope)
    check_job_quotas(session=session, job=job, requester=requester, settings=settings)
    return job


def check_job_quotas(*, session: Session, job: Job, requester: Requester, settings: Settings) -> None:
    """Hold a new or resumed job to its owner's quotas (admins are exempt); a refusal rolls it back."""
    if requester.admin:
        return
    if job.type == JobType.GENERATE:
        field = "class_counts" if "class_counts" in job.params else "count"
        quotas.check_generate_count(count=job.params["count"], limit=settings.quota_generate_images, field=field)
    quotas.check_concurrent_jobs(session=session, owner=job.owner, limit=settings.quota_concurrent_jobs)
    quotas.check_artifact_bytes(session=session, owner=job.owner, limit=settings.quota_artifact_bytes)


def _create(session: Session, request: JobRequest, requester: Requester, settings: Settings) -> Job:
    """The job of the request's type, by the submissions service."""
    caller = {"owner": requester.owner, "admin": requester.admin}
    if request.type == JobType.TRAIN:
        assert request.model is not None and request.dataset_id is not None
        return submissions.create_train_job(session=session, model=request.model, dataset_id=request.dataset_id,
                                            params=request.params, model_name=request.model_name,
                                            resume_from=request.resume_from, **caller)
    assert request.source is not None
    options = request.output.given(settings)
    if request.type == JobType.TRANSLATE:
        assert request.dataset_id is not None
        return submissions.create_translate_job(session=session, source_ref=request.source,
                                                dataset_id=request.dataset_id, from_photos=request.from_photos,
                                                options=options, **caller)
    seed = request.seed if request.seed is not None else secrets.randbelow(MAX_SEED + 1)
    return submissions.create_generate_job(
        session=session, source_ref=request.source, count=request.count, class_counts=request.class_counts,
        seed=seed, max_count=settings.max_generate_count, options=options, walk=request.walk, **caller)
