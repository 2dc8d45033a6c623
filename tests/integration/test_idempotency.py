"""`Idempotency-Key` on POST /v1/jobs and POST /v1/datasets: repeats replay, reuses conflict, crashes leave nothing."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import redis
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from urllib3 import encode_multipart_formdata
from werkzeug.test import TestResponse

from core.db import session_scope
from core.models import Dataset, IdempotencyKey, Job, utcnow
from core.services import idempotency
from core.settings import Settings
from tests.support.auth import as_admin
from tests.support.backends import api_process, free_port
from tests.support.images import image_zip

KEY = "Idempotency-Key"


def _key() -> str:
    return f"key-{uuid.uuid4().hex}"


def _count(sessions: sessionmaker[Session], column: object) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(column)))  # type: ignore[arg-type]


def _queued(settings: Settings, queue: str = "train") -> int | None:
    """Messages waiting in the test's own broker; None on the shared Redis server (other runs flush and drain it)."""
    url = settings.broker_url
    if not url.startswith("redis+socket://"):
        return None
    client = redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"))
    try:
        return client.llen(queue)
    finally:
        client.close()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the jobs the API sends to the broker (it still sends them)."""
    from api.views import jobs as views

    ids, send = [], views.enqueue_job

    def spy(app: object, job_id: int, job_type: str) -> None:
        ids.append(job_id)
        send(app, job_id, job_type)  # type: ignore[arg-type]

    monkeypatch.setattr(views, "enqueue_job", spy)
    return ids


def _folders(settings: Settings) -> tuple[list[str], list[str]]:
    """The dataset folders, and what is left in staging."""
    assert settings.dataset_dir is not None
    staging = settings.dataset_dir / ".staging"
    return ([p.name for p in settings.dataset_dir.iterdir() if p.name != ".staging"],
            [p.name for p in staging.iterdir()] if staging.is_dir() else [])


def _upload(client: FlaskClient, data: bytes, key: str | None = None, filename: str = "cats.zip",
            **form: str) -> TestResponse:
    return client.post("/v1/datasets", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data",
                       headers={KEY: key} if key else {})


@pytest.fixture
def dataset_id(client: FlaskClient) -> int:
    response = _upload(client, image_zip(8))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _train(dataset: int, **params: object) -> dict:
    return {"type": "train", "model": "dcgan", "dataset": dataset, "params": {"batch_size": 4, **params}}


# --- POST /v1/jobs ---------------------------------------------------------------------------------------------

def test_a_repeat_replays_the_first_job_and_enqueues_once(client: FlaskClient, sessions: sessionmaker[Session],
                                                           settings: Settings, dataset_id: int,
                                                           sent: list[int]) -> None:
    key = _key()
    first = client.post("/v1/jobs", json=_train(dataset_id, epochs=2, seed=1), headers={KEY: key})
    # the same body, written differently: keys in another order, other whitespace
    reordered = ('{"params": {"seed": 1, "epochs": 2, "batch_size": 4},  "dataset": ' + str(dataset_id)
                 + ', "model": "dcgan", "type": "train"}')
    again = client.post("/v1/jobs", data=reordered, content_type="application/json", headers={KEY: key})
    assert first.status_code == again.status_code == 202, again.get_json()
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"] == f"/v1/jobs/{first.get_json()['id']}"
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(sessions, Job.id) == 1 and _count(sessions, IdempotencyKey.id) == 1
    assert sent == [first.get_json()["id"]] and _queued(settings) in (1, None)


def test_the_same_key_with_another_body_is_409(client: FlaskClient, sessions: sessionmaker[Session],
                                               dataset_id: int) -> None:
    key = _key()
    assert client.post("/v1/jobs", json=_train(dataset_id, epochs=2), headers={KEY: key}).status_code == 202
    reused = client.post("/v1/jobs", json=_train(dataset_id, epochs=3), headers={KEY: key})
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(sessions, Job.id) == 1


def test_other_keys_and_no_key_make_new_jobs(client: FlaskClient, sessions: sessionmaker[Session],
                                             dataset_id: int, sent: list[int]) -> None:
    body = _train(dataset_id)
    ids = {client.post("/v1/jobs", json=body, headers={KEY: _key()}).get_json()["id"] for _ in range(2)}
    ids |= {client.post("/v1/jobs", json=body).get_json()["id"] for _ in range(2)}
    assert len(ids) == 4 and _count(sessions, Job.id) == 4 and len(sent) == 4
    assert _count(sessions, IdempotencyKey.id) == 2


def test_an_expired_key_is_new_and_its_row_replaced(client: FlaskClient, sessions: sessionmaker[Session],
                                                    settings: Settings, dataset_id: int, sent: list[int]) -> None:
    key = _key()
    first = client.post("/v1/jobs", json=_train(dataset_id), headers={KEY: key}).get_json()
    with session_scope(sessions) as session:
        past = utcnow() - timedelta(seconds=settings.idempotency_ttl_seconds + 1)
        session.execute(update(IdempotencyKey).values(created_at=past, expires_at=past + timedelta(seconds=1)))
    again = client.post("/v1/jobs", json=_train(dataset_id, epochs=3), headers={KEY: key})  # any body: a new key
    assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first["id"] and sent == [first["id"], again.get_json()["id"]]
    with sessions() as session:
        [row] = session.scalars(select(IdempotencyKey))
        assert row.response["body"]["id"] == again.get_json()["id"]
    replay = client.post("/v1/jobs", json=_train(dataset_id, epochs=3), headers={KEY: key})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json()["id"] == again.get_json()["id"]
    assert len(sent) == 2


@pytest.mark.parametrize("key", ["", "x" * 201, "caf\xe9", "tab\there"])
def test_malformed_keys_are_422(client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int,
                                key: str) -> None:
    response = client.post("/v1/jobs", json=_train(dataset_id), headers={KEY: key})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert _count(sessions, Job.id) == 0
    longest = client.post("/v1/jobs", json=_train(dataset_id), headers={KEY: "~ !" + "k" * 197})
    assert longest.status_code == 202


def test_a_failed_request_stores_nothing_and_keys_are_per_endpoint(client: FlaskClient, dataset_id: int,
                                                                   sessions: sessionmaker[Session]) -> None:
    key = _key()
    bad = client.post("/v1/jobs", json=_train(dataset_id, epochs=0), headers={KEY: key})
    assert bad.status_code == 422 and _count(sessions, IdempotencyKey.id) == 0
    assert client.post("/v1/jobs", json=_train(dataset_id), headers={KEY: key}).status_code == 202
    upload = _upload(client, image_zip(3), key)  # the same key on the other endpoint is another key
    assert upload.status_code == 201 and "Idempotent-Replayed" not in upload.headers


def test_a_job_the_broker_refused_forgets_its_key(client: FlaskClient, sessions: sessionmaker[Session],
                                                  settings: Settings, dataset_id: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from api.views import jobs as views

    def broker_down(*_args: object) -> None:
        raise ConnectionError("broker down")

    key, body = _key(), _train(dataset_id)
    with monkeypatch.context() as patch:
        patch.setattr(views, "enqueue_job", broker_down)
        refused = client.post("/v1/jobs", json=body, headers={KEY: key})
    assert refused.status_code == 503 and _count(sessions, IdempotencyKey.id) == 0
    retried = client.post("/v1/jobs", json=body, headers={KEY: key})  # "try again" must start a job
    assert retried.status_code == 202 and "Idempotent-Replayed" not in retried.headers
    assert retried.get_json()["status"] == "queued" and _queued(settings) in (1, None)


# --- POST /v1/datasets -------------------------------------------------------------------------------------------

def test_an_upload_repeated_with_its_key_is_one_dataset(client: FlaskClient, sessions: sessionmaker[Session],
                                                        settings: Settings) -> None:
    key, data = _key(), image_zip(5)
    first, again = _upload(client, data, key), _upload(client, data, key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == f"/v1/datasets/{first.get_json()['id']}"
    folders, staging = _folders(settings)
    assert _count(sessions, Dataset.id) == 1 and len(folders) == 1 and staging == []
    for other in (_upload(client, image_zip(6), key),  # other bytes
                  _upload(client, data, key, filename="dogs.zip"),  # another file name (it names the dataset)
                  _upload(client, data, key, name="dogs")):  # another form field
        assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(sessions, Dataset.id) == 1 and _folders(settings) == (folders, [])


def test_a_folder_registration_repeated_with_its_key(client: FlaskClient, image_folder: Path,
                                                     sessions: sessionmaker[Session]) -> None:
    client, key = as_admin(client, sessions), _key()  # server-side folders need an admin key
    first = client.post("/v1/datasets", json={"name": "faces", "path": str(image_folder)}, headers={KEY: key})
    again = client.post("/v1/datasets", json={"path": str(image_folder), "name": "faces"}, headers={KEY: key})
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    assert _count(sessions, Dataset.id) == 1


def lose_race(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """After this, the next request's look-up misses, as when a concurrent request commits the key just after it."""
    real, calls = idempotency.find_key, []

    def late_find_key(**kwargs: object) -> IdempotencyKey | None:
        calls.append(1)
        return None if len(calls) == 1 else real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(idempotency, "find_key", late_find_key)
    return calls


def test_the_loser_of_a_race_rolls_back_its_job_and_enqueues_nothing(
        client: FlaskClient, sessions: sessionmaker[Session], dataset_id: int, sent: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    key, body = _key(), _train(dataset_id)
    winner = client.post("/v1/jobs", json=body, headers={KEY: key})
    calls = lose_race(monkeypatch)
    loser = client.post("/v1/jobs", json=body, headers={KEY: key})
    assert len(calls) == 2, "the loser must have made its job and then found the winner"
    assert loser.status_code == 202 and loser.headers["Idempotent-Replayed"] == "true"
    assert loser.get_json() == winner.get_json() and loser.headers["Location"] == winner.headers["Location"]
    assert _count(sessions, Job.id) == 1 and sent == [winner.get_json()["id"]]
    calls.clear()
    other = client.post("/v1/jobs", json=_train(dataset_id, epochs=2), headers={KEY: key})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(sessions, Job.id) == 1 and len(sent) == 1


def test_the_loser_of_a_race_rolls_back_its_dataset_and_replays_the_winner(
        client: FlaskClient, sessions: sessionmaker[Session], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key, data = _key(), image_zip(5)
    winner = _upload(client, data, key)
    folders = _folders(settings)
    calls = lose_race(monkeypatch)
    loser = _upload(client, data, key)  # unpacks its own copy, then its key insert violates the unique constraint
    assert len(calls) == 2, "the loser must have done the work and then found the winner"
    assert loser.status_code == 201 and loser.headers["Idempotent-Replayed"] == "true"
    assert loser.get_json() == winner.get_json()
    assert _count(sessions, Dataset.id) == 1 and _folders(settings) == folders  # its unpacked folder is gone
    calls.clear()
    other = _upload(client, image_zip(4), key)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(sessions, Dataset.id) == 1 and _folders(settings) == folders


# --- the services --------------------------------------------------------------------------------------------------

def test_keys_are_per_owner_and_expired_ones_are_purged(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    store = dict(endpoint="POST /v1/jobs", key="k", request_hash="h" * 64, status_code=202, response={"body": {}})
    with session_scope(sessions) as session:
        idempotency.store_key(session=session, owner="alice", ttl_seconds=60, now=now, **store)  # type: ignore[arg-type]
        idempotency.store_key(session=session, owner="bob", ttl_seconds=60, now=now - timedelta(hours=1),
                              **store)  # type: ignore[arg-type]
    with session_scope(sessions) as session:
        find = dict(session=session, endpoint="POST /v1/jobs", key="k", now=now)
        assert idempotency.find_key(owner="alice", **find) is not None  # type: ignore[arg-type]
        assert idempotency.find_key(owner="bob", **find) is None  # type: ignore[arg-type]
        assert idempotency.find_key(owner="carol", **find) is None  # type: ignore[arg-type]
        with pytest.raises(idempotency.KeyTaken):
            idempotency.store_key(session=session, owner="alice", ttl_seconds=60, now=now, **store)  # type: ignore
        session.rollback()
    with session_scope(sessions) as session:
        assert idempotency.purge_expired_keys(session=session, now=now) == 1
    with sessions() as session:
        assert [r.owner for r in session.scalars(select(IdempotencyKey))] == ["alice"]


# --- a real API process: a crash mid-upload, and concurrent repeats --------------------------------------------------

@pytest.fixture
def api_env(env: dict[str, str], settings: Settings) -> dict[str, str]:
    """The environment of a real `catgan api` on the migrated database (auth off, whatever the default)."""
    return env | {"CATGAN_AUTH": "off"}


@pytest.fixture
def api_url(api_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with api_process(api_env, tmp_path / "api.log", port):
        yield f"http://127.0.0.1:{port}"


def _big_upload() -> tuple[bytes, str]:
    """A multipart body holding a zip padded to 16 MiB (incompressible, stored), and its Content-Type."""
    padding = np.random.default_rng(5).bytes(16 * 2**20)
    return encode_multipart_formdata({"file": ("big.zip", image_zip(4, extra={"padding.bin": padding}),
                                               "application/zip"), "name": "big"})


def _spooled(pid: int) -> int:
    """The size of the largest deleted temporary file the process holds open (where Werkzeug spools an upload)."""
    sizes = [0]
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).endswith("(deleted)") and fd.is_file():
                sizes.append(fd.stat().st_size)
        except OSError:  # closed meanwhile
            continue
    return max(sizes)


def test_a_crash_mid_upload_leaves_nothing_and_the_retry_succeeds(
        api_env: dict[str, str], tmp_path: Path, sessions: sessionmaker[Session], settings: Settings) -> None:
    key = _key()
    body, content_type = _big_upload()
    port = free_port()
    with api_process(api_env, tmp_path / "api-killed.log", port) as process:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(f"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
                         f"Content-Length: {len(body)}\r\n{KEY}: {key}\r\n\r\n".encode())
            sock.sendall(body[: len(body) // 2])
            deadline = time.monotonic() + 10
            while _spooled(process.pid) < len(body) // 4 and time.monotonic() < deadline:
                time.sleep(0.02)  # until the API is reading the body, so the kill lands mid-upload
            assert _spooled(process.pid) >= len(body) // 4, "the API did not read the upload"
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(10) == -signal.SIGKILL
    assert _count(sessions, Dataset.id) == 0 and _count(sessions, IdempotencyKey.id) == 0
    assert _folders(settings) == ([], [])

    port = free_port()
    with api_process(api_env, tmp_path / "api-restarted.log", port):
        headers = {"Content-Type": content_type, KEY: key}
        retried = requests.post(f"http://127.0.0.1:{port}/v1/datasets", data=body, headers=headers, timeout=60)
        again = requests.post(f"http://127.0.0.1:{port}/v1/datasets", data=body, headers=headers, timeout=60)
    assert retried.status_code == 201, retried.text
    assert (retried.json()["name"], retried.json()["image_count"]) == ("big", 4)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == retried.json()
    assert _count(sessions, Dataset.id) == 1 and len(_folders(settings)[0]) == 1 and _folders(settings)[1] == []


def _at_once(count: int, send: Callable[[], requests.Response]) -> list[requests.Response]:
    """`count` threads sending together."""
    barrier, responses, lock = threading.Barrier(count), [], threading.Lock()

    def run() -> None:
        barrier.wait()
        response = send()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(responses) == count
    return responses


def test_concurrent_repeats_make_one_job(api_url: str, sessions: sessionmaker[Session], settings: Settings) -> None:
    dataset = requests.post(f"{api_url}/v1/datasets", files={"file": ("d.zip", image_zip(4))}, timeout=30)
    assert dataset.status_code == 201, dataset.text
    key, body = _key(), _train(dataset.json()["id"])
    responses = _at_once(10, lambda: requests.post(f"{api_url}/v1/jobs", json=body, headers={KEY: key}, timeout=60))
    assert [r.status_code for r in responses] == [202] * 10, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert _count(sessions, Job.id) == 1 and _count(sessions, IdempotencyKey.id) == 1
    assert _queued(settings) in (1, None)


def test_concurrent_repeated_uploads_make_one_dataset(api_url: str, sessions: sessionmaker[Session],
                                                      settings: Settings) -> None:
    key, data = _key(), image_zip(6)
    responses = _at_once(6, lambda: requests.post(f"{api_url}/v1/datasets", files={"file": ("c.zip", data)},
                                                  headers={KEY: key}, timeout=60))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(sessions, Dataset.id) == 1
    assert len(_folders(settings)[0]) == 1 and _folders(settings)[1] == []  # the losers' copies are gone
