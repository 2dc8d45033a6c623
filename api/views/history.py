"""A train job's history: its progress samples (losses, images/s, SWD over steps), thinned to at most 1000 points."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api import auth
from api.context import transaction
from api.schemas import Timestamp
from core.models import ProgressSample
from core.services import history as service
from core.services import jobs

blp = Blueprint("history", __name__, url_prefix="/v1/jobs", description="Train and generate jobs")


class HistoryQuerySchema(Schema):
    limit = fields.Integer(load_default=service.MAX_POINTS, validate=validate.Range(min=2, max=service.MAX_POINTS),
                           metadata={"description": "most points to return; longer histories are thinned evenly"})


class SampleSchema(Schema):
    step = fields.Integer(required=True)
    epoch = fields.Integer(allow_none=True)
    g_loss = fields.Float(allow_none=True)
    d_loss = fields.Float(allow_none=True)
    images_per_second = fields.Float(allow_none=True)
    swd = fields.Float(allow_none=True, metadata={"description": "sliced Wasserstein distance (mean), when measured "
                                                                 "at this step; such points carry no losses"})
    created_at = Timestamp()


class HistorySchema(Schema):
    job_id = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "samples stored (points may be fewer)"})
    points = fields.List(fields.Nested(SampleSchema), required=True)


@blp.route("/<int:job_id>/history", methods=["GET"])
@blp.arguments(HistoryQuerySchema, location="query", as_kwargs=True)
@blp.response(200, HistorySchema)
def get_history(job_id: int, limit: int) -> ResponseReturnValue:
    """A train job's progress over its run, by step: losses and images/s at every report, SWD where measured.
    Thinned evenly to at most `limit` points (the newest always included); other job types have none."""
    with transaction() as session:
        jobs.get_job(session=session, job_id=job_id, owner=auth.scope())
        samples, total = service.read_history(session=session, job_id=job_id, limit=limit)
        return {"job_id": job_id, "total": total, "points": [present_sample(s) for s in samples]}


def present_sample(sample: ProgressSample) -> dict[str, Any]:
    return {c: getattr(sample, c) for c in ("step", "epoch", "g_loss", "d_loss", "images_per_second", "swd",
                                              "created_at")}
