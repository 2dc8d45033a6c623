"""Bad input gets the right 4xx, a machine-readable code, a useful message — and creates nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Dataset, Job
from core.settings import Settings
from tests.support.auth import as_admin
from tests.support.images import image_bytes, image_zip, tar_of, zip_of


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        return session.scalar(select(func.count(Job.id))), session.scalar(select(func.count(Dataset.id)))


def _upload(client: FlaskClient, data: bytes, name: str = "upload.zip") -> tuple[int, dict]:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    return response.status_code, response.get_json()


def _assert_error(response_json: dict, code: str, *words: str) -> None:
    error = response_json["error"]
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error


@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    status, body = _upload(client, image_zip(8))
    assert status == 201, body
    return body["id"]


def test_upload_creates_a_dataset(client: FlaskClient, settings: Settings) -> None:
    status, body = _upload(client, image_zip(6, extra={"notes.txt": b"x", "bad.png": b"\x89PNG nope"}), "cats.zip")
    assert status == 201
    assert (body["name"], body["image_count"], body["skipped_count"]) == ("cats", 6, 2)
    assert len(body["content_hash"]) == 64
    assert client.get(f"/v1/datasets/{body['id']}").get_json()["image_count"] == 6
    assert [d["id"] for d in client.get("/v1/datasets").get_json()["items"]] == [body["id"]]


@pytest.mark.parametrize(("count", "held_out"), [(120, 12), (40, 0)])
def test_a_dataset_says_how_many_images_are_held_out(client: FlaskClient, count: int, held_out: int) -> None:
    status, body = _upload(client, image_zip(count))
    assert status == 201 and (body["image_count"], body["held_out_count"]) == (count, held_out)
    assert client.get(f"/v1/datasets/{body['id']}").get_json()["held_out_count"] == held_out


def test_tar_upload(client: FlaskClient) -> None:
    status, body = _upload(client, tar_of({f"c/{i}.png": image_bytes(seed=i) for i in range(3)}), "c.tar.gz")
    assert (status, body["image_count"]) == (201, 3)


@pytest.mark.parametrize("data,status,code", [
    (image_zip(5)[:-300], 422, "invalid_archive"),
    (zip_of({"readme.txt": b"no cats here"}), 422, "no_images"),
    (zip_of({"fake.png": b"not a png"}), 422, "no_images"),
    (b"plain text is not an archive" * 10, 415, "unsupported_media_type"),
    (zip_of({"../../escape.png": image_bytes()}), 422, "unsafe_archive"),
    (b"", 422, "empty_upload"),
])
def test_bad_uploads_are_refused_and_leave_nothing(client: FlaskClient, sessions: sessionmaker[Session],
                                                   settings: Settings, data: bytes, status: int, code: str) -> None:
    got_status, body = _upload(client, data)
    assert got_status == status
    _assert_error(body, code)
    assert _counts(sessions) == (0, 0)
    assert settings.dataset_dir is not None
    assert [p.name for p in settings.dataset_dir.iterdir() if p.name != ".staging"] == []
    assert list((settings.dataset_dir / ".staging").iterdir()) == []


def test_oversized_upload_is_413(app: Flask, client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    status, body = _upload(client, image_zip(40, size=64))
    assert status == 413
    _assert_error(body, "payload_too_large")
    assert _counts(sessions) == (0, 0)


def test_wrong_content_types(client: FlaskClient) -> None:
    response = client.post("/v1/datasets", data="name=x", content_type="text/plain")
    assert response.status_code == 415
    response = client.post("/v1/jobs", data="{}", content_type="text/plain")
    assert response.status_code == 415
    response = client.post("/v1/jobs", data="{not json", content_type="application/json")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_json"


def test_local_folder_dataset(client: FlaskClient, image_folder: Path, tmp_path: Path,
                              sessions: sessionmaker[Session]) -> None:
    client = as_admin(client, sessions)  # server-side folders need an admin key
    response = client.post("/v1/datasets", json={"name": "faces", "path": str(image_folder)})
    assert response.status_code == 201 and response.get_json()["image_count"] == 40
    assert response.headers["Location"] == f"/v1/datasets/{response.get_json()['id']}"
    missing = client.post("/v1/datasets", json={"name": "x", "path": str(tmp_path / "nope")})
    assert missing.status_code == 422
    _assert_error(missing.get_json(), "path_not_found", "nope")
    unknown = client.post("/v1/datasets", json={"name": "x", "path": str(image_folder), "extra": 1})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"extra": ["Unknown field."]}


@pytest.mark.parametrize("body,status,code,field", [
    ({"type": "train", "model": "stylegan9", "dataset": "DS"}, 422, "unknown_model", "model"),
    ({"type": "train", "model": "dcgan", "dataset": 99999}, 422, "dataset_not_found", "dataset"),
    ({"type": "train", "model": "dcgan"}, 422, "validation_error", "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "1"}, 422, "validation_error", "dataset"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"epochs": 0}}, 422, "validation_error", "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"lr_g": "fast"}}, 422, "validation_error",
     "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": {"batch_size": 64}}, 422, "validation_error",
     "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "params": []}, 422, "validation_error", "params"),
    ({"type": "train", "model": "dcgan", "dataset": "DS", "count": 3}, 422, "validation_error", "count"),
    ({"type": "paint", "model": "dcgan"}, 422, "validation_error", "type"),
    ({"type": "generate", "model_version": 12345, "count": 8}, 422, "model_version_not_found", "model_version"),
    ({"type": "generate", "model_version": 1, "count": 0}, 422, "validation_error", "count"),
    ({"type": "generate", "model_version": 1, "count": 10**9}, 422, "validation_error", "count"),
    ({"type": "generate", "model_version": 1, "count": 8, "seed": -4}, 422, "validation_error", "seed"),
    ([1, 2, 3], 422, "validation_error", "_schema"),
])
def test_bad_job_requests(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                          body: object, status: int, code: str, field: str) -> None:
    if isinstance(body, dict) and body.get("dataset") == "DS":
        body = body | {"dataset": dataset_id}
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert field in error.get("fields", {}) or field in error["message"], error
    assert _counts(sessions) == (0, 1)


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    for path in ("/v1/jobs/424242", "/v1/datasets/424242", "/v1/artifacts/424242/content",
                 "/v1/model-versions/424242"):
        response = client.get(path)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.post("/v1/jobs/424242/cancel").status_code == 404


def test_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/cancel", "/v1/datasets",
            "/v1/artifacts/{artifact_id}/content", "/v1/models", "/healthz", "/readyz"} <= set(spec["paths"])
    assert "JobCreate" in spec["components"]["schemas"]


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}
