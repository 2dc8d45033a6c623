"""schemathesis fuzzes every operation of /openapi.json: no 5xx, and every response as documented.

Cases come from the document itself (valid and invalid bodies, queries and path values), a bounded and
derandomized number per operation, so a run is repeatable. Each response must not be a server error, its
status must be one the operation documents, and its body must match the documented schema.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.context import EXTENSION
from core.settings import Settings
from tests.support.images import image_zip

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture
def fuzzed_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The API, with server-side folders limited to an empty root: a fuzzed `path` must not scan the disk; event
    streams last a moment (the test client reads a whole body, and an idle stream lasts an hour by default)."""
    (tmp_path / "allowed").mkdir()
    app = create_app(settings.model_copy(update={"local_path_root": tmp_path / "allowed",
                                                 "events_max_stream_seconds": 0.3, "events_heartbeat_seconds": 0.1}))
    yield app
    app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def api_schema(fuzzed_app: Flask, client: FlaskClient) -> schemathesis.BaseSchema:
    """The document, on a deployment holding a dataset and a queued job (id 1 of each), so that some ids exist."""
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(2)), "cats.zip")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    job = client.post("/v1/jobs", json={"type": "train", "model": "dcgan", "dataset": upload.get_json()["id"],
                                        "params": {"batch_size": 2}})
    assert job.status_code == 202, job.get_json()  # no worker: it stays queued
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)


@pytest.fixture
def auth_headers(client: FlaskClient) -> dict[str, str]:
    """The `client` fixture's API key (same database), when it sends one."""
    token = client.environ_base.get("HTTP_AUTHORIZATION")
    return {"Authorization": token} if token else {}


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 reads and relabels `node._nodeid`, which pytest 9.2 renamed (to `_id`); give it one."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
