"""Requests that try to break us: hostile JSON bodies, parameter values, references, ids, names and queries
each get a 4xx with a field-level message — never a 500 — and create nothing."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.models import MAX_ID, Job
from tests.support.http import count_rows, expect_error, upload
from tests.support.images import image_zip

HUGE = 10**30


@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    response = upload(client, image_zip(4))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


TRAIN = '{"type": "train", "model": "dcgan", "dataset": DS, "params": %s}'
GENERATE = '{"type": "generate", "model_name": "cats", %s}'
NOT_RFC_8259 = [
    GENERATE % '"count": NaN',
    GENERATE % '"count": 8, "truncation": Infinity',
    GENERATE % '"count": 8, "truncation": -Infinity',
    TRAIN % '{"lr_g": NaN}',
    TRAIN % '{"max_seconds": Infinity}',
    '{"type": "train", "model": "dcgan", "dataset": NaN}',
    GENERATE % '"count": 8, "truncation": 1e400',  # overflows to inf: no number either
    '[' * 100_000 + ']' * 100_000,  # deeper than the parser's recursion limit
    '{"a": ' * 50_000 + '1' + '}' * 50_000,
    GENERATE % '"count": 8, "label": "st\\ud800ble"',  # a lone surrogate
    GENERATE % '"count": 8, "label": "stable\\u0000"',  # NUL: PostgreSQL refuses it in text
    '{"type": "train", "model": "dcgan", "dataset": 1, "params": {"\\u0000": 1}}',
    '{"type": "train", "model": "dcgan", "dataset": 1',
    '',
]


def test_json_that_is_not_rfc_8259_is_422(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                          subtests: pytest.Subtests) -> None:
    for raw in NOT_RFC_8259:
        with subtests.test(body=raw[:80]):
            response = client.post("/v1/jobs", data=raw.replace("DS", str(dataset_id)),
                                   content_type="application/json")
            assert "not valid JSON" in expect_error(response, 422, "invalid_json")["message"]
    for path, raw in (("/v1/models/cats/labels/stable", '{"version": NaN}'),
                      ("/v1/models/cats/policy", '{"versions": [Infinity]}'),
                      ("/v1/datasets", '{"name": "cats\\u0000", "path": "/tmp"}'),
                      ("/v1/datasets", '{"name": "\\udc00", "path": "/tmp"}')):
        with subtests.test(path=path, body=raw):
            method = client.post if path == "/v1/datasets" else client.put
            expect_error(method(path, data=raw, content_type="application/json"), 422, "invalid_json")
    assert count_rows(sessions, Job) == 0


BAD_JOBS: list[tuple[object, str]] = [
    # huge ints
    ({"type": "train", "model": "dcgan", "dataset": HUGE}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": MAX_ID + 1}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "resume_from": HUGE}, "resume_from"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": HUGE}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"seed": -HUGE}}, "params"),
    ({"type": "generate", "model_version": HUGE, "count": 8}, "model_version"),
    ({"type": "generate", "model_name": "cats", "version": HUGE, "count": 8}, "version"),
    ({"type": "generate", "model_version": 1, "count": HUGE}, "count"),
    ({"type": "generate", "model_version": 1, "count": 8, "seed": HUGE}, "seed"),
    ({"type": "translate", "model_version": 1, "dataset": -HUGE}, "dataset"),
    # zero and negative
    ({"type": "train", "model": "dcgan", "dataset": 0}, "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"batch_size": -1}}, "params"),
    ({"type": "generate", "model_version": 1, "count": 8, "truncation": 0}, "truncation"),
    # floats, strings and booleans where ints are expected
    ({"type": "generate", "model_version": 1, "count": 8.0}, "count"),
    ({"type": "generate", "model_version": 1.5, "count": 8}, "model_version"),
    ({"type": "generate", "model_version": 1, "count": True}, "count"),
    ({"type": "generate", "model_version": "1", "count": 8}, "model_version"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"batch_size": 8.5}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": 1e3}}, "params"),
    ({"type": "generate", "model_version": 1, "count": 8, "dedupe": "yes"}, "dedupe"),
    # nested junk
    ({"type": "train", "model": {"$ne": None}, "dataset": "DS"}, "model"),
    ({"type": ["train"], "model": "dcgan", "dataset": "DS"}, "type"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": {"$gt": 0}}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"a": [[[[{"b": None}]]]]}}, "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": [1]}}, "params"),
    ({"type": "generate", "model_version": 1, "class_counts": {"a": {"b": 1}}}, "class_counts"),
    ({"type": "generate", "model_version": 1, "count": 8, "format": ["png"]}, "format"),
    ({"type": "generate", "model_version": 1, "count": 8, "__proto__": {"admin": True}}, "__proto__"),
    ("just a string", "_schema"),
    (None, "_schema"),
    # very long strings, and names that would become paths
    ({"type": "train", "model": "x" * 100_000, "dataset": "DS"}, "model"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "a" * 101}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "cats\n"}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "../../etc"}, "model_name"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "model_name": "Cats"}, "model_name"),
    ({"type": "generate", "model_name": "cats", "label": "stable/../../x", "count": 8}, "label"),
    ({"type": "generate", "model_name": "cats", "label": "stable\n", "count": 8}, "label"),
    ({"type": "generate", "model_name": "cats", "label": "s" * 65, "count": 8}, "label"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"x" * 10_000: 1}}, "params"),
]


def test_bad_values_are_422_with_the_field(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                           subtests: pytest.Subtests) -> None:
    for body, field in BAD_JOBS:
        if isinstance(body, dict) and body.get("dataset") == "DS":
            body = body | {"dataset": dataset_id}
        with subtests.test(body=repr(body)[:100]):
            if body is None:
                response = client.post("/v1/jobs", data="null", content_type="application/json")
            else:
                response = client.post("/v1/jobs", json=body)
            assert response.status_code == 422, response.get_data(as_text=True)[:2000]
            error = response.get_json()["error"]
            assert error["code"] in {"validation_error", "unknown_model", "invalid_model_name"}, error
            assert field in error.get("fields", {}) or field in error["message"][:300], error
            assert len(response.get_data()) < 300_000  # a long value is not echoed back endlessly
    assert count_rows(sessions, Job) == 0


def test_references_to_nothing_are_422(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                       subtests: pytest.Subtests) -> None:
    for body, code, field in [
        ({"type": "train", "model": "stylegan9", "dataset": dataset_id}, "unknown_model", "model"),
        ({"type": "train", "model": "dcgan", "dataset": MAX_ID}, "dataset_not_found", "dataset"),
        ({"type": "train", "model": "dcgan", "dataset": dataset_id, "resume_from": MAX_ID}, "checkpoint_not_found",
         "resume_from"),
        ({"type": "generate", "model_version": MAX_ID, "count": 8}, "model_version_not_found", "model_version"),
        ({"type": "generate", "model_name": "no-such-cats", "count": 8}, "model_not_found", "model_name"),
        ({"type": "generate", "model_name": "no-such-cats", "version": 3, "count": 8}, "model_not_found",
         "model_name"),
        ({"type": "translate", "model_version": MAX_ID, "dataset": dataset_id}, "model_version_not_found",
         "model_version"),
    ]:
        with subtests.test(body=repr(body)[:100]):
            error = expect_error(client.post("/v1/jobs", json=body), 422, code)
            assert field in error.get("fields", {}) or field in error["message"], error
    assert count_rows(sessions, Job) == 0


def test_hostile_ids_and_names_in_paths_are_404(client: FlaskClient, subtests: pytest.Subtests) -> None:
    reads = [f"/v1/jobs/{HUGE}", f"/v1/jobs/{MAX_ID + 1}", f"/v1/datasets/{HUGE}", f"/v1/model-versions/{HUGE}",
             f"/v1/artifacts/{HUGE}", f"/v1/artifacts/{HUGE}/content", f"/v1/jobs/{HUGE}/artifacts",
             f"/v1/jobs/{HUGE}/result", "/v1/jobs/-1", "/v1/jobs/1e3", "/v1/jobs/0x10", "/v1/jobs/%00",
             "/v1/models/" + "x" * 5000, "/v1/models/%00", "/v1/models/..%2F..%2Fetc"]
    for path in reads:
        with subtests.test(path=path[:80]):
            expect_error(client.get(path), 404, "not_found")
    for path in (f"/v1/jobs/{HUGE}/cancel", f"/v1/jobs/{HUGE}/resume"):
        with subtests.test(path=path):
            expect_error(client.post(path), 404, "not_found")


def test_bad_queries_are_422(client: FlaskClient, subtests: pytest.Subtests) -> None:
    for query, field, code in [
        ("limit=NaN", "limit", "validation_error"), ("limit=1e3", "limit", "validation_error"),
        (f"limit={HUGE}", "limit", "validation_error"), ("limit=-1", "limit", "validation_error"),
        ("limit=0", "limit", "validation_error"), ("status=exploded", "status", "validation_error"),
        ("type=%00", "type", "validation_error"), ("cursor=" + "A" * 500, "cursor", "validation_error"),
        ("cursor=%00%ff", "cursor", "invalid_cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"9" * 30).decode(), "cursor", "invalid_cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"-5").decode(), "cursor", "invalid_cursor"),
    ]:
        with subtests.test(query=query[:80]):
            assert field in expect_error(client.get(f"/v1/jobs?{query}"), 422, code).get("fields", {})


def test_bad_model_requests_are_422(client: FlaskClient, subtests: pytest.Subtests) -> None:
    for path, body, field in [
        ("/v1/models/cats/labels/stable", {"version": HUGE}, "version"),
        ("/v1/models/cats/labels/stable", {"version": 1.0}, "version"),
        ("/v1/models/cats/labels/stable", {"version": 1, "extra": 1}, "extra"),
        ("/v1/models/cats/labels/" + "s" * 100, {"version": 1}, "label"),
        ("/v1/models/cats/labels/Stable", {"version": 1}, "label"),
        ("/v1/models/cats/policy", {"versions": [HUGE]}, "versions"),
        ("/v1/models/cats/policy", {"versions": [[1]]}, "versions"),
        ("/v1/models/cats/policy", {"versions": list(range(1, 1000))}, "versions"),
        ("/v1/models/cats/policy", {"versions": "all"}, "versions"),
    ]:
        with subtests.test(path=path[:60], body=repr(body)[:60]):
            assert field in expect_error(client.put(path, json=body), 422, "validation_error").get("fields", {})


# --- server-side folders ------------------------------------------------------------------------------------------

