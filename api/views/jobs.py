"""Jobs: submit, list, inspect, cancel; the task is sent by name after the row is committed."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from api import auth
from api.context import context, transaction
from api.idempotency import HEADER_DOC, forget, idempotent, remember
from api.paging import page_of_job
from api.presenters import present_artifact, present_checkpoint, present_jobs
from api.result_zip import flat_result, shards_result
from api.schemas import (
    ArtifactPageQuerySchema,
    ArtifactPageSchema,
    CheckpointPageSchema,
    ErrorSchema,
    JobCreateSchema,
    JobListQuerySchema,
    JobPageSchema,
    JobSchema,
    PageQuerySchema,
    ResultQuerySchema,
)
from api.validation import json_body, load
from core.errors import Conflict, ServiceUnavailable
from core.queue import enqueue_job
from core.services import artifacts, job_outputs
from core.services import job_requests as submissions
from core.services import jobs as service
from core.services.submissions import SourceRef
from core.states import JobStatus, JobType

log = logging.getLogger(__name__)
blp = Blueprint("jobs", __name__, url_prefix="/v1/jobs", description="Train and generate jobs")


@blp.route("", methods=["POST"])
@idempotent("POST /v1/jobs", JobSchema)
@blp.doc(requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}}}},
         parameters=[HEADER_DOC])
@blp.response(202, JobSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The model name is another owner's, the version is not "
                  "served, or the Idempotency-Key was used with another body.")
@blp.alt_response(429, schema=ErrorSchema, description="The owner is at a quota (quota_exceeded): jobs queued or "
                  "running, or bytes of stored artifacts; the message says which, how much is used and what to do.")
@blp.alt_response(503, schema=ErrorSchema, description="The job queue is unreachable; the job was not started.")
def create_job() -> ResponseReturnValue:
    """Queue a train, generate or translate job."""
    request = _job_request(load(JobCreateSchema(), json_body()))
    with transaction() as session:
        job = submissions.submit_job(session=session, request=request, requester=_requester(),
                                     settings=context().settings)
        job_id, job_type = job.id, job.type
        body, headers = present_jobs(session, [job])[0], {"Location": f"/v1/jobs/{job_id}"}
        remember(session, body, 202, headers)  # a repeat of its Idempotency-Key gets this, and enqueues nothing
    _enqueue_or_fail(job_id, job_type)
    return body, 202, headers


def _job_request(data: dict[str, Any]) -> submissions.JobRequest:
    """The validated body as the service's request: its fields by their names in core."""
    kind = JobType(data["type"])
    source = None if kind == JobType.TRAIN else SourceRef(data.get("model_version"), data.get("model_name"),
                                                          data.get("version"), data.get("label"))
    output = submissions.OutputOptions(**{f: data[f] for f in submissions.OUTPUT_FIELDS if f in data})
    return submissions.JobRequest(
        type=kind, model=data.get("model"), dataset_id=data.get("dataset"), params=data.get("params"),
        model_name=data.get("model_name") if kind == JobType.TRAIN else None, resume_from=data.get("resume_from"),
        source=source, count=data.get("count"), class_counts=data.get("class_counts"), seed=data.get("seed"),
        from_photos=data.get("from_photos", False), output=output, webhook=data.get("webhook"), walk=_walk(data))


def _walk(data: dict[str, Any]) -> dict[str, Any] | None:
    """The walk option by its names in core: the schema loads `class` as `class_` (a Python keyword)."""
    walk = data.get("walk")
    if walk is None:
        return None
    return {("class" if k == "class_" else k): v for k, v in walk.items()}


def _requester() -> submissions.Requester:
    return submissions.Requester(owner=auth.owner(), admin=auth.is_admin())


def _enqueue_or_fail(job_id: int, job_type: str) -> None:
    """Send the task; if the broker is down, fail the job rather than leave it queued forever."""
    try:
        enqueue_job(context().celery, job_id, job_type)
    except Exception as exc:
        log.exception("could not enqueue job %s", job_id)
        with transaction() as session:
            service.fail_queued_job(session=session, job_id=job_id, error=f"could not reach the broker: {exc}")
            forget(session)  # the job never started: a retry with the same Idempotency-Key makes a new one
        raise ServiceUnavailable("the job queue is unreachable; the job was not started, try again",
                                 code="broker_unavailable") from exc


@blp.route("", methods=["GET"])
@blp.arguments(JobListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, JobPageSchema)
def list_jobs(**query: Any) -> ResponseReturnValue:
    """Jobs newest first, filtered by status and type, a page at a time (follow `next_cursor`)."""
    with transaction() as session:
        jobs, next_cursor = service.list_jobs(session=session, owner=auth.scope(), **query)
        return {"items": present_jobs(session, jobs), "next_cursor": next_cursor}


@blp.route("/<int:job_id>", methods=["GET"])
@blp.response(200, JobSchema)
def get_job(job_id: int) -> ResponseReturnValue:
    """One job with its progress, metrics, and the counts and newest few of its artifacts and checkpoints."""
    with transaction() as session:
        return present_jobs(session, [service.get_job(session=session, job_id=job_id, owner=auth.scope())])[0]


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The job has already finished.")
def cancel_job(job_id: int) -> ResponseReturnValue:
    """Cancel: a queued job never starts; a running one stops at its next step and keeps its checkpoints."""
    with transaction() as session:
        service.request_cancel(session=session, job_id=job_id, owner=auth.scope())
    with transaction() as session:
        return present_jobs(session, [service.get_job(session=session, job_id=job_id, owner=auth.scope())])[0]


@blp.route("/<int:job_id>/artifacts", methods=["GET"])
@blp.arguments(ArtifactPageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ArtifactPageSchema)
def list_artifacts(job_id: int, **query: Any) -> ResponseReturnValue:
    """The files a job produced, oldest first, a page at a time (follow `next_cursor`)."""
    return page_of_job(job_id, job_outputs.page_artifacts, present_artifact, **query)


@blp.route("/<int:job_id>/checkpoints", methods=["GET"])
@blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CheckpointPageSchema)
def list_checkpoints(job_id: int, **query: Any) -> ResponseReturnValue:
    """The checkpoints a train job recorded, oldest first, a page at a time (follow `next_cursor`)."""
    return page_of_job(job_id, job_outputs.page_checkpoints, present_checkpoint, **query)


@blp.route("/<int:job_id>/resume", methods=["POST"])
@blp.response(202, JobSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Only a failed or cancelled job resumes.")
@blp.alt_response(503, schema=ErrorSchema, description="The job queue is unreachable; the job was not started.")
def resume_job(job_id: int) -> ResponseReturnValue:
    """Queue a failed or cancelled job again: training continues from its last checkpoint, generation
    from its last finished shard."""
    with transaction() as session:
        job = submissions.resume_job(session=session, job_id=job_id, requester=_requester(),
                                     settings=context().settings)
        job_type = job.type
    _enqueue_or_fail(job_id, job_type)
    with transaction() as session:
        job = service.get_job(session=session, job_id=job_id, owner=auth.scope())
        return present_jobs(session, [job])[0], 202, {"Location": f"/v1/jobs/{job_id}"}


@blp.route("/<int:job_id>/result", methods=["GET"])
@blp.arguments(ResultQuerySchema, location="query", as_kwargs=True)
@blp.doc(responses={200: {"description": "A zip of the job's images, streamed.",
                          "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(409, schema=ErrorSchema,
                  description="A train job has no result archive, no shard is finished yet, or a shard's file "
                              "no longer matches its recorded hash.")
def download_result(job_id: int, layout: str) -> ResponseReturnValue:
    """All images of a generate/translate job as one zip, streamed from its shards. While the job runs (or
    after it stopped early) it holds the shards finished so far, and `X-Catgan-Partial: true` says so."""
    settings = context().settings
    with transaction() as session:
        job = service.get_job(session=session, job_id=job_id, owner=auth.scope())
        if job.type == JobType.TRAIN:
            raise Conflict("a train job has no result archive; see its artifacts and model version",
                           code="no_result_archive")
        files = job_outputs.artifacts_of_kind(session=session, job_id=job_id,
                                              kinds=(artifacts.SHARD_KIND, "preview_grid", "walk"))
        shards = sorted((a for a in files if a.kind == artifacts.SHARD_KIND), key=lambda a: a.info["shard"])
        if not shards:
            raise Conflict(f"job {job_id} has no finished shard yet (status {job.status}); try again later",
                           code="no_result_yet")
        paths = [artifacts.artifact_file(a, settings) for a in shards]
        extras = {a.name: artifacts.artifact_file(a, settings) for a in files if a.kind in ("preview_grid", "walk")}
        partial, name = job.status != JobStatus.SUCCEEDED, f"job-{job_id}-{job.type}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Catgan-Partial": str(partial).lower()}
    if layout == "shards":
        body, length = shards_result(paths, extras)
        headers["Content-Length"] = str(length)
    else:
        body = flat_result(paths, extras)
    return Response(stream_with_context(body), mimetype="application/zip", headers=headers)
