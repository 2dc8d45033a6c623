"""Webhooks: the caller's signing secret (read, rotate) and a job's delivery attempts."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api import auth
from api.context import transaction
from api.paging import page_of_job
from api.schemas import PageQuerySchema, Timestamp
from core.models import WebhookDelivery
from core.services import webhooks as service

NO_STORE = {"Cache-Control": "no-store"}  # a secret is kept by no cache
blp = Blueprint("webhooks", __name__, url_prefix="/v1", description="Signed webhook deliveries of job events")


class SecretSchema(Schema):
    secret = fields.String(required=True, metadata={
        "description": "the Standard Webhooks secret (whsec_<base64>) every delivery to your jobs' webhooks is "
                       "signed with; verify with standardwebhooks.Webhook(secret).verify(body, headers)"})


class DeliverySchema(Schema):
    id = fields.Integer()
    job_id = fields.Integer()
    event = fields.String(metadata={"description": "the event type: status, progress, sheet, checkpoint, shard..."})
    message_id = fields.String(metadata={"description": "the webhook-id header, the same for every attempt"})
    attempt = fields.Integer(metadata={"description": "1 for the first attempt"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "the receiver's HTTP status, if any"})
    error = fields.String(allow_none=True, metadata={
        "description": "why no answer came (connection, timeout), or `refused: ...` when nothing was sent"})
    duration_ms = fields.Float()
    created_at = Timestamp()


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


def present_delivery(row: WebhookDelivery) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ("id", "job_id", "event", "message_id", "attempt", "status_code", "error",
                                         "duration_ms", "created_at")}


@blp.route("/webhooks/secret", methods=["GET"])
@blp.response(200, SecretSchema)
def get_secret() -> ResponseReturnValue:
    """Your webhook signing secret (made on the first read); keep it as safe as an API key."""
    with transaction() as session:
        return {"secret": service.get_secret(session=session, owner=auth.owner())}, 200, NO_STORE


@blp.route("/webhooks/secret/rotate", methods=["POST"])
@blp.response(200, SecretSchema)
def rotate_secret() -> ResponseReturnValue:
    """Replace your signing secret: deliveries from now on, retries included, are signed with the new one only."""
    with transaction() as session:
        return {"secret": service.rotate_secret(session=session, owner=auth.owner())}, 200, NO_STORE


@blp.route("/jobs/<int:job_id>/webhook-deliveries", methods=["GET"])
@blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, DeliveryPageSchema)
def list_deliveries(job_id: int, **query: Any) -> ResponseReturnValue:
    """Every attempt to deliver the job's webhook messages, oldest first, a page at a time (follow `next_cursor`)."""
    return page_of_job(job_id, service.page_deliveries, present_delivery, **query)
