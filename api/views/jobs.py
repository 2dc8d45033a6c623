"""Jobs: submit, list, inspect, cancel; the task is sent by name after the row is committed."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.context import context, transaction
from api.presenters import present_artifact, present_job
from api.schemas import ItemsSchema, JobCreateSchema, JobListQuerySchema, JobPageSchema, JobSchema
from api.validation import json_body, load
from core.errors import ServiceUnavailable
from core.models import Job
from core.queue import enqueue_job
from core.services import jobs as service
from core.states import JobType

log = logging.getLogger(__name__)
blp = Blueprint("jobs", __name__, url_prefix="/v1/jobs", description="Train and generate jobs")


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}}}})
@blp.response(202, JobSchema)
def create_job() -> ResponseReturnValue:
    """Queue a train or generate job."""
    data = load(JobCreateSchema(), json_body())
    with transaction() as session:
        job = _create(session, data)
        job_id, job_type = job.id, job.type
    _enqueue_or_fail(job_id, job_type)
    with transaction() as session:
        body = present_job(service.get_job(session=session, job_id=job_id))
    return body, 202, {"Location": f"/v1/jobs/{job_id}"}


def _create(session: Session, data: dict[str, Any]) -> Job:
    if data["type"] == JobType.TRAIN:
        return service.create_train_job(session=session, model=data["model"], dataset_id=data["dataset"],
                                        params=data.get("params"), model_name=data.get("model_name"),
                                        resume_from=data.get("resume_from"))
    if data["type"] == JobType.TRANSLATE:
        return service.create_translate_job(session=session, model_version_id=data["model_version"],
                                            dataset_id=data["dataset"], from_photos=data.get("from_photos", False))
    return service.create_generate_job(
        session=session, model_version_id=data["model_version"], count=data.get("count"),
        class_counts=data.get("class_counts"), seed=data.get("seed", secrets.randbelow(2**31)),
        max_count=context().settings.max_generate_count)


def _enqueue_or_fail(job_id: int, job_type: str) -> None:
    """Send the task; if the broker is down, fail the job rather than leave it queued forever."""
    try:
        enqueue_job(context().celery, job_id, job_type)
    except Exception as exc:
        log.exception("could not enqueue job %s", job_id)
        with transaction() as session:
            service.fail_queued_job(session=session, job_id=job_id, error=f"could not reach the broker: {exc}")
        raise ServiceUnavailable("the job queue is unreachable; the job was not started, try again",
                                 code="broker_unavailable") from exc


@blp.route("", methods=["GET"])
@blp.arguments(JobListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, JobPageSchema)
def list_jobs(**query: Any) -> ResponseReturnValue:
    """Jobs newest first, filtered by status and type, a page at a time (follow `next_cursor`)."""
    with transaction() as session:
        jobs, next_cursor = service.list_jobs(session=session, **query)
        return {"items": [present_job(j) for j in jobs], "next_cursor": next_cursor}


@blp.route("/<int:job_id>", methods=["GET"])
@blp.response(200, JobSchema)
def get_job(job_id: int) -> ResponseReturnValue:
    """One job with its progress, metrics and artifacts."""
    with transaction() as session:
        return present_job(service.get_job(session=session, job_id=job_id))


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
def cancel_job(job_id: int) -> ResponseReturnValue:
    """Cancel: a queued job never starts; a running one stops at its next step and keeps its checkpoints."""
    with transaction() as session:
        service.request_cancel(session=session, job_id=job_id)
    with transaction() as session:
        return present_job(service.get_job(session=session, job_id=job_id))


@blp.route("/<int:job_id>/artifacts", methods=["GET"])
@blp.response(200, ItemsSchema)
def list_artifacts(job_id: int) -> ResponseReturnValue:
    """The files a job produced."""
    with transaction() as session:
        job = service.get_job(session=session, job_id=job_id)
        return {"items": [present_artifact(a) for a in job.artifacts]}

