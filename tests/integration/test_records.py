"""Progress records are dataclasses (core.records): every field the worker reports is served by GET /v1/jobs/<id>
and documented in /openapi.json, derived from the dataclass — a field added there needs no other change."""

from __future__ import annotations

import dataclasses

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from api.schemas import derive_record_schema
from core.db import session_scope
from core.records import PROGRESS_RECORDS, BulkProgress, TrainProgress, list_record_fields, to_json
from core.services import jobs
from tests.integration.test_metrics import model_version_row
from tests.support.jobs import submit

OPENAPI_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def test_every_progress_field_is_served_and_documented(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    version = model_version_row(sessions, "progress-cats")
    job = submit(client, {"type": "generate", "model_version": version, "count": 10})["id"]
    bulk = BulkProgress(step=4, total_steps=10, images_done=3, duplicates_dropped=1, shards_done=0, shards_total=1,
                        images_per_second=2.5, eta_seconds=None)
    with session_scope(sessions) as session:
        jobs.record_progress(session=session, job_id=job, progress=to_json(bulk))
    served = client.get(f"/v1/jobs/{job}").get_json()["progress"]
    assert served == to_json(bulk) | {"fraction": 0.4}

    documented = client.get("/openapi.json").get_json()["components"]["schemas"]["Progress"]["properties"]
    fields = list_record_fields(*PROGRESS_RECORDS)
    assert set(documented) == set(fields) | {"fraction"}
    assert {name: (documented[name]["type"], documented[name]["nullable"]) for name in fields} == {
        name: (OPENAPI_TYPES[kind], True) for name, kind in fields.items()}
    assert {"g_loss", "d_loss", "epoch", "images_done", "shards_total"} <= set(fields)


def test_a_field_added_to_a_record_is_in_the_derived_schema() -> None:
    @dataclasses.dataclass(frozen=True)
    class WiderProgress(TrainProgress):
        learning_rate: float | None = None

    record = WiderProgress(epoch=1, step=2, total_steps=4, g_loss=0.5, d_loss=1.5, images_per_second=8.0,
                           eta_seconds=0.25, learning_rate=1e-4)
    schema = derive_record_schema("WiderProgressSchema", WiderProgress)()
    assert schema.dump(to_json(record)) == to_json(record)
    assert schema.dump(to_json(record))["learning_rate"] == 1e-4
