"""/metrics over real databases and a real broker: the figures move as jobs are made, run, finish and store files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import session_scope
from core.services import artifacts, jobs, leases, models
from core.settings import Settings
from core.states import JobStatus
from tests.support.images import image_zip
from tests.support.jobs import submit
from tests.support.auth import TEST_OWNER
from tests.support.models import declared_record

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: FlaskClient, **headers: str) -> Samples:
    """Every sample of /metrics, by name and labels, parsed with prometheus_client's own parser."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _dataset(client: FlaskClient) -> int:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(12, size=40)), "cats.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def model_version_row(sessions: sessionmaker[Session], name: str) -> int:
    """A model version recorded for TEST_OWNER (no export on disk: a worker fails jobs drawing from it at once)."""
    with session_scope(sessions) as session:
        return models.create_model_version(session=session, name=name, version=1, model="dcgan", job_id=None,
                                           path=f"{name}/1", record=declared_record("dcgan"), info={},
                                           owner=TEST_OWNER).id


def _train(client: FlaskClient, dataset: int) -> int:
    return submit(client, {"type": "train", "model": "dcgan", "dataset": dataset, "params": {"epochs": 1, "batch_size": 8}})["id"]


def test_jobs_and_queue_depth_follow_submissions(client: FlaskClient) -> None:
    before = scrape(client)
    assert value(before, "catgan_jobs", type="train", status="queued") == 0
    assert value(before, "catgan_queue_depth", queue="train") == 0
    assert value(before, "catgan_database_up") == value(before, "catgan_broker_up") == 1
    dataset = _dataset(client)
    for _ in range(3):
        _train(client, dataset)
    after = scrape(client)
    assert value(after, "catgan_jobs", type="train", status="queued") == 3
    assert value(after, "catgan_jobs", type="generate", status="queued") == 0
    # three messages really wait on the broker's `train` list (no worker consumes them here)
    assert value(after, "catgan_queue_depth", queue="train") == 3
    assert value(after, "catgan_queue_depth", queue="generate") == 0


def test_running_finished_and_stored_jobs(client: FlaskClient, sessions: sessionmaker[Session],
                                          settings: Settings) -> None:
    dataset = _dataset(client)
    running, finished = _train(client, dataset), _train(client, dataset)
    with session_scope(sessions) as session:
        for job_id in (running, finished):
            leases.claim_job(session=session, job_id=job_id, holder="test", lease_seconds=60)
        jobs.record_progress(session=session, job_id=running, progress={"step": 3, "images_per_second": 41.5})
        jobs.finish_job(session=session, job_id=finished, status=JobStatus.SUCCEEDED, holder="test")
        artifacts.add_artifact_bytes(session=session, settings=settings, job_id=finished, kind="samples",
                                     name="a.png", data=b"x" * 1000, content_type="image/png")
        artifacts.add_artifact_bytes(session=session, settings=settings, job_id=finished, kind="samples",
                                     name="b.png", data=b"y" * 234, content_type="image/png")
    samples = scrape(client)
    assert value(samples, "catgan_jobs", type="train", status="running") == 1
    assert value(samples, "catgan_jobs", type="train", status="succeeded") == 1
    assert value(samples, "catgan_training_images_per_second", job_id=str(running)) == 41.5
    assert ("catgan_training_images_per_second", frozenset({("job_id", str(finished))})) not in samples
    assert value(samples, "catgan_job_duration_seconds_count", type="train", status="succeeded") == 1
    assert value(samples, "catgan_job_duration_seconds_bucket", type="train", status="succeeded", le="+Inf") == 1
    assert value(samples, "catgan_job_duration_seconds_bucket", type="train", status="succeeded", le="5") == 1
    assert 0 <= value(samples, "catgan_job_duration_seconds_sum", type="train", status="succeeded") < 5
    assert value(samples, "catgan_artifact_bytes", kind="samples") == 1234
    assert value(samples, "catgan_artifacts", kind="samples") == 2


def test_generated_images_count_finished_and_running_jobs(client: FlaskClient, sessions: sessionmaker[Session],
                                                          settings: Settings) -> None:
    version = model_version_row(sessions, "metric-cats")
    done = submit(client, {"type": "generate", "model_version": version, "count": 100})["id"]
    going = submit(client, {"type": "generate", "model_version": version, "count": 100})["id"]
    assert value(scrape(client), "catgan_generated_images_total", type="generate") == 0
    with session_scope(sessions) as session:
        for job_id in (done, going):
            leases.claim_job(session=session, job_id=job_id, holder="test", lease_seconds=60)
        jobs.record_progress(session=session, job_id=going, progress={"images_done": 30})
        jobs.finish_job(session=session, job_id=done, status=JobStatus.SUCCEEDED, holder="test",
                        metrics={"images": 98})
    assert value(scrape(client), "catgan_generated_images_total", type="generate") == 128


def test_http_latency_counts_requests_by_route(client: FlaskClient) -> None:
    route = "/v1/jobs/<int:job_id>"

    def count(samples: Samples) -> float:
        return samples.get(("catgan_http_request_duration_seconds_count",
                            frozenset({("route", route), ("method", "GET"), ("status", "404")})), 0.0)

    before = count(scrape(client))
    for job_id in (999_001, 999_002, 999_003):
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    client.open("/no/such/path", method="BREW")
    samples = scrape(client)
    assert count(samples) == before + 3  # one series for the route, whatever ids the paths held
    assert not any("999" in dict(labels).get("route", "") for _, labels in samples)
    unmatched = {dict(labels)["method"] for name, labels in samples
                 if name.endswith("_count") and dict(labels).get("route") == "unmatched"}
    assert unmatched == {"other"}  # an odd method is not a new series either


def test_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123.x"})
    assert given.headers["X-Request-ID"] == "abc-123.x"
    made = client.get("/healthz", headers={"X-Request-ID": "spaces and \"quotes\" " + "x" * 200})
    assert len(made.headers["X-Request-ID"]) == 32 and " " not in made.headers["X-Request-ID"]
    assert client.get("/healthz").headers["X-Request-ID"] != made.headers["X-Request-ID"]


@pytest.fixture
def guarded(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("s3cret-metrics")}))
    yield app
    app.extensions["catgan"].engine.dispose()


def test_a_metrics_token_is_required_when_set(guarded: Flask) -> None:
    http = guarded.test_client()
    missing = http.get("/metrics")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "metrics_token_required"
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = http.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert ok.status_code == 200 and "catgan_jobs" in ok.get_data(as_text=True)


def test_metrics_off_is_not_served(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics": "off"}))
    try:
        assert app.test_client().get("/metrics").status_code == 404
    finally:
        app.extensions["catgan"].engine.dispose()


def test_metrics_is_not_in_the_openapi_document(client: FlaskClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]
