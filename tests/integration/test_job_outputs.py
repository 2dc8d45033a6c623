"""What jobs produce stays bounded: floors on per-step and per-image files, paged artifacts and checkpoints, counts
in job bodies read in O(page) queries, a quota on stored artifact bytes, and one row per artifact name."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.db import session_scope
from core.models import Artifact, Job
from core.services import artifacts, models
from core.settings import Settings
from tests.support.auth import TEST_OWNER, authorize, make_token
from tests.support.backends import Backend, settings_env, settings_from_env
from tests.support.images import image_zip
from tests.support.jobs import all_artifacts, all_checkpoints, submit
from tests.support.models import declared_record


@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(8)), "d.zip")},
                           content_type="multipart/form-data")
    return response.get_json()["id"]


def _train(client: FlaskClient, dataset_id: int) -> int:
    return submit(client, {"type": "train", "model": "dcgan", "dataset": dataset_id, "params": {"batch_size": 4}})["id"]


def _record(sessions: sessionmaker[Session], settings: Settings, job_id: int, artifacts_: int,
            checkpoints: int = 0, prefix: str = "sheet") -> None:
    """Record artifacts (of 10 bytes each) and checkpoints as a worker would."""
    with session_scope(sessions) as session:
        for i in range(artifacts_):
            artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job_id, kind="sample_grid",
                                         name=f"{prefix}-{i:04d}.png", data=b"%010d" % i, content_type="image/png",
                                         info={"step": i})
        for i in range(checkpoints):
            artifacts.add_checkpoint(session=session, job_id=job_id, step=i + 1, epoch=i + 1,
                                     path=f"job-{job_id}/ckpt-{i + 1}", metrics={})


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the API process sends meanwhile."""
    engine, seen = app.extensions["catgan"].engine, []

    def count(conn, cursor, statement, *_args) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_name_recorded_again_updates_its_row_and_downloads_the_new_bytes(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], dataset_id: int) -> None:
    job_id = _train(client, dataset_id)
    with session_scope(sessions) as session:
        first = artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job_id, kind="loss_curve",
                                             name="loss-curve.png", data=b"old curve", content_type="image/png")
        first_id, first_at = first.id, first.created_at
    with session_scope(sessions) as session:  # a resumed run draws its loss curve again
        again = artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job_id, kind="loss_curve",
                                             name="loss-curve.png", data=b"the new, longer curve",
                                             content_type="image/png")
        assert again.id == first_id
    with sessions() as session:
        [row] = session.scalars(select(Artifact).where(Artifact.job_id == job_id)).all()
        written_again = row.created_at.replace(tzinfo=None) > first_at.replace(tzinfo=None)
        assert (row.size, written_again) == (len(b"the new, longer curve"), True)
    with client.get(f"/v1/artifacts/{first_id}/content") as response:
        assert response.status_code == 200 and response.data == b"the new, longer curve"
    [listed] = client.get(f"/v1/jobs/{job_id}").get_json()["artifacts"]
    assert listed["size"] == 21 and listed["id"] == first_id


def test_artifacts_and_checkpoints_are_paged_and_a_job_carries_counts_and_the_newest_five(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], dataset_id: int) -> None:
    job_id = _train(client, dataset_id)
    _record(sessions, settings, job_id, artifacts_=12, checkpoints=7)
    with session_scope(sessions) as session:
        artifacts.add_artifact_bytes(session=session, settings=settings, job_id=job_id, kind="loss_curve",
                                     name="loss-curve.png", data=b"curve", content_type="image/png")
    job = client.get(f"/v1/jobs/{job_id}").get_json()
    assert (job["artifact_count"], job["checkpoint_count"]) == (13, 7)
    assert [a["name"] for a in job["artifacts"]] == [f"sheet-{i:04d}.png" for i in range(8, 12)] + ["loss-curve.png"]
    assert [c["step"] for c in job["checkpoints"]] == [3, 4, 5, 6, 7]

    pages, cursor = [], None
    while True:
        page = client.get(f"/v1/jobs/{job_id}/artifacts",
                          query_string={"limit": 5, **({"cursor": cursor} if cursor else {})}).get_json()
        pages.append([a["name"] for a in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert [len(p) for p in pages] == [5, 5, 3]
    assert (pages[0][0], pages[-1][-1]) == ("sheet-0000.png", "loss-curve.png")
    assert [a["name"] for a in all_artifacts(client, job_id, kind="loss_curve")] == ["loss-curve.png"]
    assert [c["step"] for c in all_checkpoints(client, job_id, limit=3)] == [1, 2, 3, 4, 5, 6, 7]
    bad = client.get(f"/v1/jobs/{job_id}/checkpoints", query_string={"cursor": "%%%"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_cursor"
    assert client.get(f"/v1/jobs/{job_id}/artifacts", query_string={"limit": 0}).status_code == 422
    assert client.get("/v1/jobs/424242/checkpoints").status_code == 404


def test_listing_jobs_costs_the_same_queries_however_many_jobs_and_artifacts(
        app: Flask, client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], dataset_id: int) -> None:
    few = [_train(client, dataset_id) for _ in range(2)]
    for job_id in few:
        _record(sessions, settings, job_id, artifacts_=6, checkpoints=6)
    with _statements(app) as small:
        assert client.get("/v1/jobs").status_code == 200
    more = [_train(client, dataset_id) for _ in range(4)]
    for job_id in more:
        _record(sessions, settings, job_id, artifacts_=40, checkpoints=9)
    with _statements(app) as large:
        listed = client.get("/v1/jobs").get_json()["items"]
    assert len(large) == len(small), large  # no query per job, and no job's whole list of rows
    by_id = {j["id"]: j for j in listed}
    assert [(by_id[i]["artifact_count"], len(by_id[i]["artifacts"])) for i in more] == [(40, 5)] * 4
    assert [(by_id[i]["checkpoint_count"], len(by_id[i]["checkpoints"])) for i in few] == [(6, 5)] * 2


def test_reading_one_job_costs_three_queries_for_its_outputs(
        app: Flask, client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], dataset_id: int) -> None:
    empty, busy = _train(client, dataset_id), _train(client, dataset_id)
    _record(sessions, settings, busy, artifacts_=12, checkpoints=7)
    reads = {}
    for job_id in (empty, busy):
        with _statements(app) as seen:
            reads[job_id] = client.get(f"/v1/jobs/{job_id}").get_json()
        outputs = [s for s in seen if "artifacts" in s or "checkpoints" in s or "model_versions" in s]
        assert len(outputs) == 3, outputs  # artifacts and checkpoints: one window pass each; the newest version
    assert (reads[empty]["artifact_count"], reads[empty]["artifacts"], reads[empty]["checkpoint_count"]) == (0, [], 0)
    assert (reads[busy]["artifact_count"], reads[busy]["checkpoint_count"]) == (12, 7)
    assert [c["step"] for c in reads[busy]["checkpoints"]] == [3, 4, 5, 6, 7]  # the newest five, oldest first


def _version(sessions: sessionmaker[Session], name: str, model: str) -> int:
    """A model version row of TEST_OWNER (jobs that never run need no export on disk)."""
    with session_scope(sessions) as session:
        return models.create_model_version(session=session, name=name, version=1, model=model, job_id=None,
                                           path=f"{name}/1", record=declared_record(model), info={},
                                           owner=TEST_OWNER).id


def test_floors_on_sample_sheets_and_shards_are_field_errors(client: FlaskClient, sessions: sessionmaker[Session],
                                                             dataset_id: int) -> None:
    train = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset_id,
                            "params": {"sample_every_steps": 1}}, status=422)
    assert train["error"]["fields"]["params"] == {"sample_every_steps": ["Must be greater than or equal to 50."]}
    submit(client, {"type": "train", "model": "dcgan", "dataset": dataset_id,
                    "params": {"sample_every_steps": 50, "batch_size": 4}})

    version = _version(sessions, "cats", "dcgan")
    body = {"type": "generate", "model_version": version, "seed": 1}
    small = submit(client, body | {"count": 1000, "shard_size": 99}, status=422)["error"]
    assert small["fields"] == {"shard_size": ["Must be at least 100."]} and "shard_size" in small["message"]
    assert submit(client, body | {"count": 1000, "shard_size": 100})["params"]["shard_size"] == 100
    assert submit(client, body | {"count": 40, "shard_size": 40})["params"]["shard_size"] == 40  # one shard
    assert submit(client, body | {"count": 40, "shard_size": 39}, status=422)["error"]["fields"] == {
        "shard_size": ["Must be at least 40."]}
    assert submit(client, body | {"count": 5})["params"]["shard_size"] == 10_000  # CATGAN_SHARD_SIZE

    translator = _version(sessions, "sketches", "pix2pix")
    translate = {"type": "translate", "model_version": translator, "dataset": dataset_id}  # 8 images
    assert submit(client, translate | {"shard_size": 7}, status=422)["error"]["fields"] == {
        "shard_size": ["Must be at least 8."]}
    submit(client, translate | {"shard_size": 8})
    with sessions() as session:  # nothing of a refused job was kept
        assert session.scalar(select(func.count()).select_from(Job)) == 5


@pytest.fixture
def tight_client(backend: Backend, settings: Settings, sessions: sessionmaker[Session]) -> Iterator[FlaskClient]:
    """The API of the same deployment with CATGAN_QUOTA_ARTIFACT_BYTES=100."""
    tight = settings_from_env(settings_env(settings.home, backend, quota_artifact_bytes="100"))
    app = create_app(tight)
    yield authorize(app.test_client(), make_token(sessions))
    app.extensions["catgan"].engine.dispose()


def test_a_job_is_refused_while_its_owner_stores_the_artifact_quota(
        tight_client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], dataset_id: int) -> None:
    first = _train(tight_client, dataset_id)
    _record(sessions, settings, first, artifacts_=9)  # 90 bytes: under the quota
    tight_client.post(f"/v1/jobs/{first}/cancel")
    second = _train(tight_client, dataset_id)
    tight_client.post(f"/v1/jobs/{second}/cancel")
    _record(sessions, settings, second, artifacts_=1, prefix="more")  # 100 bytes: at the quota
    refused = tight_client.post("/v1/jobs", json={"type": "train", "model": "dcgan", "dataset": dataset_id,
                                                  "params": {"batch_size": 4}})
    assert refused.status_code == 429, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exceeded" and "store 100 bytes of artifacts" in error["message"]
    assert "CATGAN_QUOTA_ARTIFACT_BYTES" in error["message"]
    resumed = tight_client.post(f"/v1/jobs/{second}/resume")
    assert resumed.status_code == 429 and resumed.get_json()["error"]["code"] == "quota_exceeded"
    assert tight_client.get(f"/v1/jobs/{second}").get_json()["status"] == "cancelled"
    assert [j["id"] for j in tight_client.get("/v1/jobs").get_json()["items"]] == [second, first]
