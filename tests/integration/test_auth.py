"""Who may see what: API keys, owners (another owner's things are 404), admins, quotas and the rate limit."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from catgan.cli import main
from catgan.localkey import ensure_local_key, key_file
from core.db import session_scope
from core.models import LOCAL_OWNER, Dataset, Job
from core.services import artifacts, keys
from core.settings import Settings
from tests.support.auth import TEST_OWNER, authorize, make_token
from tests.support.images import image_bytes, image_zip, zip_of
from tests.support.models import publish_tiny_generator

MakeClient = Callable[..., FlaskClient]


@pytest.fixture
def variant(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[MakeClient]:
    """Clients of apps built with changed settings: `variant(owner, admin=..., token=..., **settings)`."""
    apps: list[Flask] = []

    def make(owner: str = TEST_OWNER, *, admin: bool = False, token: str | None = None, **changes: Any) -> FlaskClient:
        app = create_app(settings.model_copy(update=changes))
        apps.append(app)
        return authorize(app.test_client(), token or make_token(sessions, owner, admin=admin))

    yield make
    for app in apps:
        app.extensions["catgan"].engine.dispose()


@pytest.fixture
def bob(app: Flask, sessions: sessionmaker[Session]) -> FlaskClient:
    return authorize(app.test_client(), make_token(sessions, "bob"))


@pytest.fixture
def admin(app: Flask, sessions: sessionmaker[Session]) -> FlaskClient:
    return authorize(app.test_client(), make_token(sessions, "root", admin=True))


def _upload(client: FlaskClient, count: int = 8, name: str = "d", status: int = 201) -> dict:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(count)), f"{name}.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _post(client: FlaskClient, body: dict, status: int = 202) -> dict:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _train(dataset: int, **extra: Any) -> dict:
    return {"type": "train", "model": "dcgan", "dataset": dataset, "params": {"batch_size": 4}, **extra}


def _status(client: FlaskClient, path: str) -> int:
    """GET `path`, closing the response (downloads are open files)."""
    with client.get(path) as response:
        return response.status_code


def _error(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture
def bobs(bob: FlaskClient, settings: Settings, sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Bob's things: a dataset, a cancelled train job with a checkpoint, a model, a queued generate job with a
    result shard."""
    dataset = _upload(bob)["id"]
    train = _post(bob, _train(dataset, model_name="bobs-cats"))["id"]
    version = publish_tiny_generator(settings, "bobs-cats", owner="bob")
    generate = _post(bob, {"type": "generate", "model_version": version, "count": 4})["id"]
    with session_scope(sessions) as session:
        checkpoint = artifacts.add_checkpoint(session=session, job_id=train, step=4, epoch=1, path="ckpt-4",
                                              metrics={}).id
        shard = artifacts.add_artifact_bytes(
            session=session, settings=settings, job_id=generate, kind=artifacts.SHARD_KIND, name="images-00000.zip",
            data=zip_of({"cat-0.png": image_bytes()}), content_type="application/zip", info={"shard": 0}).id
    assert bob.post(f"/v1/jobs/{train}/cancel").get_json()["status"] == "cancelled"  # resumable, for bob
    assert bob.put("/v1/models/bobs-cats/labels/stable", json={"version": 1}).status_code == 200
    return {"dataset": dataset, "train": train, "version": version, "generate": generate, "checkpoint": checkpoint,
            "artifact": shard}


def test_missing_invalid_and_revoked_keys_are_401(app: Flask, sessions: sessionmaker[Session]) -> None:
    anonymous = app.test_client()
    for headers in ({}, {"Authorization": "Bearer cg_not-a-key"}, {"Authorization": "Basic YWxpY2U6eA=="}):
        response = anonymous.get("/v1/jobs", headers=headers)
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _error(anonymous.post("/v1/jobs", json={"type": "train"}), 401, "unauthorized")
    for open_path in ("/healthz", "/readyz", "/openapi.json"):
        assert anonymous.get(open_path).status_code == 200, open_path

    token = make_token(sessions, "carol")
    assert anonymous.get("/v1/datasets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with session_scope(sessions) as session:
        key = keys.authenticate(session=session, token=token)
        assert key is not None and key.owner == "carol" and key.key_hash != token and token.startswith("cg_")
        keys.revoke_key(session=session, key_id_or_prefix=str(key.id))
    error = _error(anonymous.get("/v1/datasets", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")
    assert "revoked" in error["message"]


def test_an_owner_cannot_reach_another_owners_things(client: FlaskClient, bob: FlaskClient,
                                                     bobs: dict[str, Any]) -> None:
    # bob reaches all of it (so each 404 below is about ownership, not about the request)
    gets = [f"/v1/datasets/{bobs['dataset']}", f"/v1/jobs/{bobs['train']}", f"/v1/jobs/{bobs['train']}/artifacts",
            f"/v1/jobs/{bobs['generate']}/result", f"/v1/artifacts/{bobs['artifact']}",
            f"/v1/artifacts/{bobs['artifact']}/content", f"/v1/model-versions/{bobs['version']}",
            "/v1/models/bobs-cats"]
    for path in gets:
        assert _status(bob, path) == 200, path
        with client.get(path) as response:
            _error(response, 404, "not_found")
    for method, path, body in [("post", f"/v1/jobs/{bobs['generate']}/cancel", None),
                               ("post", f"/v1/jobs/{bobs['train']}/resume", None),
                               ("put", "/v1/models/bobs-cats/labels/canary", {"version": 1}),
                               ("delete", "/v1/models/bobs-cats/labels/stable", None),
                               ("put", "/v1/models/bobs-cats/policy", {"versions": [1]})]:
        _error(getattr(client, method)(path, json=body) if body else getattr(client, method)(path), 404, "not_found")
    # the same answer as for ids that do not exist
    assert client.get("/v1/jobs/999999").get_json()["error"]["code"] == "not_found"

    mine = _upload(client, name="mine")["id"]
    refused = {"model_version_not_found": {"type": "generate", "model_version": bobs["version"], "count": 4},
               "model_not_found": {"type": "generate", "model_name": "bobs-cats", "count": 4},
               "dataset_not_found": _train(bobs["dataset"]),
               "checkpoint_not_found": _train(mine, resume_from=bobs["checkpoint"])}
    for code, body in refused.items():
        _error(client.post("/v1/jobs", json=body), 422, code)

    assert [d["id"] for d in client.get("/v1/datasets").get_json()["items"]] == [mine]
    assert [d["id"] for d in bob.get("/v1/datasets").get_json()["items"]] == [bobs["dataset"]]
    assert client.get("/v1/jobs").get_json()["items"] == [] and client.get("/v1/models").get_json()["items"] == []
    assert {j["id"] for j in bob.get("/v1/jobs").get_json()["items"]} == {bobs["train"], bobs["generate"]}
    # nothing of bob's changed
    assert bob.get(f"/v1/jobs/{bobs['generate']}").get_json()["status"] == "queued"
    assert bob.get(f"/v1/jobs/{bobs['train']}").get_json()["status"] == "cancelled"
    assert bob.get("/v1/models/bobs-cats").get_json()["labels"] == {"stable": 1}


def test_an_admin_sees_and_acts_on_everything(client: FlaskClient, admin: FlaskClient, bobs: dict[str, Any]) -> None:
    mine = _upload(client)["id"]
    assert {d["id"] for d in admin.get("/v1/datasets").get_json()["items"]} == {mine, bobs["dataset"]}
    assert {j["owner"] for j in admin.get("/v1/jobs").get_json()["items"]} == {"bob"}
    assert _status(admin, f"/v1/artifacts/{bobs['artifact']}/content") == 200
    assert admin.get("/v1/models/bobs-cats").get_json()["versions"][0]["owner"] == "bob"
    assert admin.post(f"/v1/jobs/{bobs['generate']}/cancel").get_json()["status"] == "cancelled"
    drawn = _post(admin, {"type": "generate", "model_name": "bobs-cats", "label": "stable", "count": 4})
    assert drawn["owner"] == "root" and drawn["model_version"] == bobs["version"]
    assert _post(admin, _train(bobs["dataset"]))["owner"] == "root"


def test_model_names_belong_to_their_first_owner(client: FlaskClient, bob: FlaskClient, settings: Settings) -> None:
    publish_tiny_generator(settings, "bobs-cats", owner="bob")
    dataset = _upload(client)["id"]
    taken = _error(client.post("/v1/jobs", json=_train(dataset, model_name="bobs-cats")), 409, "model_name_taken")
    assert taken["fields"] == {"model_name": ["Taken."]}
    _post(bob, _train(_upload(bob)["id"], model_name="bobs-cats"))  # its owner trains more versions

    _post(bob, _train(_upload(bob)["id"], model_name="queued-name"))  # a queued train job holds its name too
    _error(client.post("/v1/jobs", json=_train(dataset, model_name="queued-name")), 409, "model_name_taken")
    # the default name (model-dataset) steps aside when another owner holds it
    assert _post(bob, _train(_upload(bob, name="shared")["id"]))["params"]["model_name"] == "dcgan-shared"
    mine = _post(client, _train(_upload(client, name="shared")["id"]))
    assert mine["params"]["model_name"] == f"{TEST_OWNER}-dcgan-shared"


def test_concurrent_jobs_quota_is_429(variant: MakeClient, sessions: sessionmaker[Session]) -> None:
    alice = variant(quota_concurrent_jobs=2)
    dataset = _upload(alice)["id"]
    first, _ = _post(alice, _train(dataset)), _post(alice, _train(dataset))
    error = _error(alice.post("/v1/jobs", json=_train(dataset)), 429, "quota_exceeded")
    assert "CATGAN_QUOTA_CONCURRENT_JOBS=2" in error["message"] and "cancel" in error["message"]
    with sessions() as session:
        assert session.scalar(select(func.count(Job.id))) == 2  # the refused job is not left behind
    assert alice.post(f"/v1/jobs/{first['id']}/cancel").status_code == 200
    third = _post(alice, _train(dataset))
    _error(alice.post(f"/v1/jobs/{first['id']}/resume"), 429, "quota_exceeded")  # resuming counts too
    assert alice.get(f"/v1/jobs/{first['id']}").get_json()["status"] == "cancelled"
    _post(variant("bob", quota_concurrent_jobs=2), _train(_upload(variant("bob"))["id"]))  # per owner
    root = variant("root", admin=True, quota_concurrent_jobs=2)
    for _ in range(3):
        _post(root, _train(dataset))  # admins are exempt
    assert third["status"] == "queued"


def test_generate_images_quota_is_422_on_count(variant: MakeClient, settings: Settings) -> None:
    version = publish_tiny_generator(settings, "cats")
    alice = variant(quota_generate_images=10)
    error = _error(alice.post("/v1/jobs", json={"type": "generate", "model_version": version, "count": 11}),
                   422, "quota_exceeded")
    assert error["fields"] == {"count": ["At most 10 images per job."]}
    assert "CATGAN_QUOTA_GENERATE_IMAGES" in error["message"]
    _post(alice, {"type": "generate", "model_version": version, "count": 10})
    _post(variant("root", admin=True, quota_generate_images=10), {"type": "generate", "model_version": version,
                                                                   "count": 11})


def test_dataset_bytes_quota_is_413_and_leaves_nothing(client: FlaskClient, variant: MakeClient, settings: Settings,
                                                       sessions: sessionmaker[Session]) -> None:
    size = _upload(client)["total_bytes"]
    alice = variant(quota_dataset_bytes=size + size // 2)
    error = _error(alice.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(8)), "d.zip")},
                              content_type="multipart/form-data"), 413, "quota_exceeded")
    assert "CATGAN_QUOTA_DATASET_BYTES" in error["message"]
    with sessions() as session:
        assert session.scalar(select(func.count(Dataset.id))) == 1
    assert settings.dataset_dir is not None
    staging = settings.dataset_dir / ".staging"
    assert len([p for p in settings.dataset_dir.iterdir() if p.name != ".staging"]) == 1
    assert not staging.exists() or list(staging.iterdir()) == []
    _upload(variant("bob", quota_dataset_bytes=size + size // 2))  # another owner has room of its own
    _upload(variant("root", admin=True, quota_dataset_bytes=1))  # admins are exempt


def test_rate_limit_per_key_is_429_with_retry_after(variant: MakeClient, sessions: sessionmaker[Session]) -> None:
    alice = variant(rate_limit="5 per minute")
    for _ in range(5):
        assert alice.get("/v1/datasets").status_code == 200
    response = alice.get("/v1/jobs")
    error = _error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and "5 per 1 minute" in error["message"]
    assert alice.get("/healthz").status_code == 200  # health checks are not limited
    other = authorize(alice.application.test_client(), make_token(sessions, "bob"))
    assert other.get("/v1/datasets").status_code == 200  # another key has its own budget
    anonymous = alice.application.test_client()
    for _ in range(5):
        _error(anonymous.get("/v1/jobs"), 401, "unauthorized")
    _error(anonymous.get("/v1/jobs"), 429, "rate_limited")  # bad keys are limited by address


def test_rate_limit_without_redis_counts_in_memory(variant: MakeClient) -> None:
    alice = variant(redis_url="redis://127.0.0.1:1/0", rate_limit="3 per minute")  # nothing listens on port 1
    assert [alice.get("/v1/datasets").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_auth_off_serves_everyone_as_local(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        app = create_app(settings.model_copy(update={"auth": "off"}))
    try:
        assert any("CATGAN_AUTH=off" in r.getMessage() for r in caplog.records)
        anonymous = app.test_client()
        dataset = _upload(anonymous)
        assert dataset["owner"] == LOCAL_OWNER
        assert [d["id"] for d in anonymous.get("/v1/datasets").get_json()["items"]] == [dataset["id"]]
    finally:
        app.extensions["catgan"].engine.dispose()


def test_keys_cli_creates_lists_and_revokes(env: dict[str, str], client: FlaskClient) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--owner", "carol"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("cg_") and "not stored" in created.stderr
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/datasets", headers=headers).status_code == 200

    listed = runner.invoke(main, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    [line] = [row for row in listed.stdout.splitlines() if "\tcarol\t" in row]
    key_id, prefix = line.split("\t")[:2]
    assert token.startswith(prefix) and token not in listed.stdout and line.split("\t")[5] == "-"

    revoked = runner.invoke(main, ["keys", "revoke", prefix], env=env)
    assert revoked.exit_code == 0 and f"revoked key {key_id}" in revoked.stdout
    _error(client.get("/v1/datasets", headers=headers), 401, "unauthorized")
    assert runner.invoke(main, ["keys", "list"], env=env).stdout.count("\tcarol\t") == 1

    admin = runner.invoke(main, ["keys", "create", "--owner", "ops", "--admin"], env=env)
    assert admin.exit_code == 0 and "(admin)" in admin.stderr
    bad = runner.invoke(main, ["keys", "create", "--owner", "Not A Name"], env=env)
    assert bad.exit_code != 0 and "not valid" in bad.output
    assert runner.invoke(main, ["keys", "revoke", "cg_nothing"], env=env).exit_code != 0


def test_the_local_key_is_made_once_and_kept_private(settings: Settings, sessions: sessionmaker[Session]) -> None:
    token, made = ensure_local_key(settings)
    assert made and key_file(settings).read_text().strip() == token
    assert stat.S_IMODE(os.stat(key_file(settings)).st_mode) == 0o600
    with session_scope(sessions) as session:
        key = keys.authenticate(session=session, token=token)
        assert key is not None and (key.owner, key.admin) == (LOCAL_OWNER, True)  # quickstart registers a folder
    assert ensure_local_key(settings) == (token, False)
    with session_scope(sessions) as session:
        keys.revoke_key(session=session, key_id_or_prefix=token[:keys.PREFIX_LENGTH])
    renewed, made = ensure_local_key(settings)
    assert made and renewed != token and key_file(settings).read_text().strip() == renewed
