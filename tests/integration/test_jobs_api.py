"""Queueing, listing and cancelling jobs through the API, on real Redis and both databases."""

from __future__ import annotations

import base64
import io
import json

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.errors import IllegalTransition
from core.services import artifacts, jobs, leases
from core.settings import Settings
from core.states import JobStatus
from tests.support.images import image_zip


@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(8)), "d.zip")},
                           content_type="multipart/form-data")
    return response.get_json()["id"]


def _train(client: FlaskClient, dataset_id: int, **params: object) -> dict:
    response = client.post("/v1/jobs", json={"type": "train", "model": "dcgan", "dataset": dataset_id,
                                             "params": {"batch_size": 4, **params}})
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"] == f"/v1/jobs/{response.get_json()['id']}"
    return response.get_json()


def _queued_messages(settings: Settings, queue: str) -> list[dict]:
    if settings.broker_url.startswith("redis+socket://"):
        client = redis.Redis(unix_socket_path=settings.broker_url.removeprefix("redis+socket://"))
    else:
        client = redis.Redis.from_url(settings.broker_url)
    try:
        return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    finally:
        client.close()


def test_a_train_job_is_stored_complete_then_sent_by_name_as_json(client: FlaskClient, settings: Settings,
                                                                   dataset_id: int) -> None:
    job = _train(client, dataset_id, epochs=2, seed=3)
    assert job["status"] == "queued" and job["type"] == "train" and job["dataset"] == dataset_id
    assert job["params"]["epochs"] == 2 and job["params"]["seed"] == 3 and job["params"]["beta1"] == 0.5
    # the profile's fields are stored as "the profile decides" (None); the worker records what it picked
    assert job["params"]["profile"] == "auto" and job["params"]["lr_d"] is None
    assert job["params"]["model_name"] == "dcgan-d"
    [message] = _queued_messages(settings, "train")
    assert message["content-type"] == "application/json"
    assert message["headers"]["task"] == "gan.train"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([job["id"]], {})


def test_cancel_a_queued_job_and_again(client: FlaskClient, dataset_id: int) -> None:
    job = _train(client, dataset_id)
    first = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert first.status_code == 200 and first.get_json()["status"] == "cancelled"
    assert first.get_json()["finished_at"] is not None
    again = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"


def test_cancel_a_finished_job_is_409(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int) -> None:
    job = _train(client, dataset_id)
    with session_scope(sessions) as session:
        leases.claim_job(session=session, job_id=job["id"], holder="test", lease_seconds=60)
        jobs.finish_job(session=session, job_id=job["id"], status=JobStatus.SUCCEEDED)
    response = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "job_finished"
    assert client.get(f"/v1/jobs/{job['id']}").get_json()["status"] == "succeeded"


def test_cancel_a_running_job_sets_the_flag(client: FlaskClient, sessions: sessionmaker[Session],
                                            dataset_id: int) -> None:
    job = _train(client, dataset_id)
    with session_scope(sessions) as session:
        leases.claim_job(session=session, job_id=job["id"], holder="test", lease_seconds=60)
    body = client.post(f"/v1/jobs/{job['id']}/cancel").get_json()
    assert (body["status"], body["cancel_requested"]) == ("running", True)


def test_illegal_transitions_are_refused_by_the_service(client: FlaskClient, sessions: sessionmaker[Session],
                                                        dataset_id: int) -> None:
    job = _train(client, dataset_id)
    with session_scope(sessions) as session:
        with pytest.raises(IllegalTransition):
            jobs.finish_job(session=session, job_id=job["id"], status=JobStatus.SUCCEEDED)  # queued → succeeded
    client.post(f"/v1/jobs/{job['id']}/cancel")
    with session_scope(sessions) as session:
        assert leases.claim_job(session=session, job_id=job["id"], holder="test",
                                lease_seconds=60) is None  # a cancelled job never starts
        with pytest.raises(IllegalTransition, match="cancelled job cannot become failed"):
            jobs.finish_job(session=session, job_id=job["id"], status=JobStatus.FAILED)
    assert client.get(f"/v1/jobs/{job['id']}").get_json()["status"] == "cancelled"


def test_list_filters_and_cursor_pagination(client: FlaskClient, dataset_id: int) -> None:
    ids = [_train(client, dataset_id)["id"] for _ in range(5)]
    client.post(f"/v1/jobs/{ids[1]}/cancel")
    seen, cursor = [], None
    while True:
        page = client.get("/v1/jobs", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    cancelled = client.get("/v1/jobs", query_string={"status": "cancelled", "type": "train"}).get_json()
    assert [j["id"] for j in cancelled["items"]] == [ids[1]]
    assert client.get("/v1/jobs", query_string={"cursor": "%%%"}).status_code == 422
    assert client.get("/v1/jobs", query_string={"limit": 0}).status_code == 422


def test_an_artifact_whose_file_changed_is_refused_not_served(client: FlaskClient, settings: Settings,
                                                              sessions: sessionmaker[Session], dataset_id: int) -> None:
    job = _train(client, dataset_id)
    with session_scope(sessions) as session:
        artifact = artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job["id"], kind="loss_curve",
                                                name="loss.png", data=b"0123456789", content_type="image/png")
        artifact_id, path = artifact.id, artifacts.artifact_path(artifact, settings)
    with client.get(f"/v1/artifacts/{artifact_id}/content") as intact:
        assert intact.data == b"0123456789"
    path.write_bytes(b"0123456780")  # same size, one byte changed on disk
    changed = client.get(f"/v1/artifacts/{artifact_id}/content")
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "artifact_corrupted"
    path.write_bytes(b"01234")
    assert client.get(f"/v1/artifacts/{artifact_id}/content").status_code == 409
    path.unlink()
    assert client.get(f"/v1/artifacts/{artifact_id}/content").status_code == 404
