"""Bulk generation on a real worker: shards while running, provenance, options, cancel + resume, the result zip."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from core.settings import Settings
from tests.support.backends import free_port, serving_process, worker_process
from tests.support.jobs import all_artifacts, finished, wait_for
from tests.support.models import publish_tiny_generator

pytestmark = pytest.mark.slow
EMBEDDED = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env | {"CATGAN_ENCODE_WORKERS": "2"}, tmp_path / "worker.log"):
        yield


def _generate(client: FlaskClient, **body: object) -> dict:
    response = client.post("/v1/jobs", json={"type": "generate", **body})
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def _run(client: FlaskClient, **body: object) -> dict:
    job = wait_for(client, _generate(client, **body)["id"], finished)
    assert job["status"] == "succeeded", job["error"]
    return job


def _shards(client: FlaskClient, job: dict) -> list[dict]:
    return sorted(all_artifacts(client, job["id"], kind="images_shard"), key=lambda a: a["info"]["shard"])


def _result(client: FlaskClient, job_id: int, layout: str = "flat") -> zipfile.ZipFile:
    response = client.get(f"/v1/jobs/{job_id}/result?layout={layout}")
    assert response.status_code == 200, response.get_json()
    assert response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def _manifest(archive: zipfile.ZipFile) -> list[dict]:
    return [json.loads(line) for line in archive.read("manifest.jsonl").decode().splitlines()]


def _images(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {n: archive.read(n) for n in archive.namelist() if n.endswith((".png", ".jpg")) and n != "grid.png"}


def test_shards_appear_while_the_job_runs_and_the_result_streams_them_all(
        client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "cats", seed=3)
    job = _generate(client, model_version=version, count=6000, seed=7, shard_size=500)
    running = wait_for(client, job["id"], lambda j: j["status"] != "queued" and j["artifact_count"])
    assert running["status"] == "running", "a shard was downloadable before the job finished"
    first = _shards(client, running)[0]
    with client.get(first["url"]) as response, zipfile.ZipFile(io.BytesIO(response.data)) as shard:
        assert hashlib.sha256(response.data).hexdigest() == first["sha256"]
        assert len(_images(shard)) == 500 and _manifest(shard)[0]["index"] == 0
    partial = client.get(f"/v1/jobs/{job['id']}/result")
    assert partial.headers["X-Catgan-Partial"] in {"true", "false"}

    done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert [s["info"]["start"] for s in _shards(client, done)] == list(range(0, 6000, 500))
    assert done["metrics"]["images"] == 6000 and done["progress"]["shards_done"] == 12
    archive = _result(client, job["id"])
    images, manifest = _images(archive), _manifest(archive)
    assert len(images) == len(manifest) == 6000 and archive.testzip() is None
    assert sorted(images) == [f"cat-{i:07d}.png" for i in range(6000)]
    line = manifest[4321]
    assert line == {"file": "cat-0004321.png", "index": 4321, "seed": 7, "model_name": "cats", "model_version": 1,
                    "checkpoint_step": 0}
    assert Image.open(io.BytesIO(images["cat-0004321.png"])).size == (16, 16)
    assert "grid.png" in archive.namelist()
    assert client.get(f"/v1/jobs/{job['id']}/result").headers["X-Catgan-Partial"] == "false"


@EMBEDDED
def test_cancel_then_resume_gives_the_same_archive_as_an_uninterrupted_run(
        client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "cats", seed=4)
    whole = _run(client, model_version=version, count=3000, seed=11, shard_size=400)

    job = _generate(client, model_version=version, count=3000, seed=11, shard_size=400)
    wait_for(client, job["id"], lambda j: j["artifact_count"] >= 2)  # shards (the preview comes last)
    client.post(f"/v1/jobs/{job['id']}/cancel")
    cancelled = wait_for(client, job["id"], finished)
    assert cancelled["status"] == "cancelled"
    kept = _shards(client, cancelled)
    assert 2 <= len(kept) < 8, "finished shards stay after a cancel; the partial one is dropped"
    assert client.get(f"/v1/jobs/{job['id']}/result").headers["X-Catgan-Partial"] == "true"

    resumed = client.post(f"/v1/jobs/{job['id']}/resume")
    assert resumed.status_code == 202 and resumed.get_json()["status"] == "queued"
    done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert [a["id"] for a in _shards(client, done)[:len(kept)]] == [a["id"] for a in kept]  # not redone
    assert [a["sha256"] for a in _shards(client, done)] == [a["sha256"] for a in _shards(client, whole)]  # identical
    assert client.post(f"/v1/jobs/{job['id']}/resume").get_json()["error"]["code"] == "not_resumable"

    # image i is the same bytes however the job is cut into shards (and so into model calls)
    resharded = _run(client, model_version=version, count=250, seed=11, shard_size=100, grid=False)
    again = _images(_result(client, resharded["id"]))
    reference = _images(_result(client, whole["id"]))
    assert again == {name: reference[name] for name in again}
    assert not all_artifacts(client, resharded["id"], kind="preview_grid")


@EMBEDDED
def test_output_options(client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "cats", seed=5)
    plain = _images(_result(client, _run(client, model_version=version, count=64, seed=1)["id"]))

    jpeg = _images(_result(client, _run(client, model_version=version, count=64, seed=1, format="jpeg",
                                        quality=80)["id"]))
    assert sorted(jpeg) == [f"cat-{i:07d}.jpg" for i in range(64)]
    assert Image.open(io.BytesIO(jpeg["cat-0000003.jpg"])).format == "JPEG"

    truncated = _images(_result(client, _run(client, model_version=version, count=64, seed=1,
                                             truncation=0.5)["id"]))
    assert truncated.keys() == plain.keys() and truncated != plain
    spread = [_pixels(images).std(axis=0).mean() for images in (plain, truncated)]
    assert spread[1] < spread[0], f"clipping z narrows the variety: {spread}"

    same = publish_tiny_generator(settings, "same", constant=True)
    deduped = _run(client, model_version=same, count=250, seed=1, dedupe=True, shard_size=100)  # across 3 shards
    assert deduped["metrics"]["images"] == 1 and deduped["metrics"]["duplicates_dropped"] == 249
    archive = _result(client, deduped["id"])
    assert list(_images(archive)) == ["cat-0000000.png"] and len(_manifest(archive)[0]["phash"]) == 16


def _pixels(images: dict[str, bytes]):
    import numpy as np

    return np.stack([np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) for data in images.values()])


@EMBEDDED
def test_result_layouts_and_refusals(client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "cats", seed=6)
    job = _run(client, model_version=version, count=250, seed=2, shard_size=100)
    response = client.get(f"/v1/jobs/{job['id']}/result?layout=shards")
    assert int(response.headers["Content-Length"]) == len(response.data)
    with zipfile.ZipFile(io.BytesIO(response.data)) as outer:
        assert outer.namelist() == ["images-00000.zip", "images-00001.zip", "images-00002.zip", "grid.png"]
        counts = [len(zipfile.ZipFile(io.BytesIO(outer.read(n))).namelist()) - 1 for n in outer.namelist()[:3]]
    assert counts == [100, 100, 50]

    bad = client.get(f"/v1/jobs/{job['id']}/result?layout=tar")
    assert bad.status_code == 422
    assert client.get("/v1/jobs/999999/result").status_code == 404


@EMBEDDED
def test_the_tfserving_backend_gives_the_local_backends_bytes(client: FlaskClient, settings: Settings,
                                                              env: dict[str, str], tmp_path: Path) -> None:
    """A worker drawing through TF Serving's gRPC API (here `catgan serving`) writes byte-identical shards."""
    version = publish_tiny_generator(settings, "cats", seed=8)
    with worker_process(env, tmp_path / "local.log"):
        local = _run(client, model_version=version, count=300, seed=5, shard_size=128)
        label = client.put("/v1/models/cats/labels/stable", json={"version": 1})
        assert label.status_code == 200
    address = f"127.0.0.1:{free_port()}"
    remote_env = env | {"CATGAN_GENERATOR_BACKEND": "tfserving", "CATGAN_SERVING_ADDRESS": address}
    with serving_process(env, tmp_path / "serving.log", address), \
            worker_process(remote_env, tmp_path / "remote.log"):
        remote = _run(client, model_name="cats", label="stable", count=300, seed=5, shard_size=128)
    assert remote["model_version"] == version
    assert [a["sha256"] for a in _shards(client, remote)] == [a["sha256"] for a in _shards(client, local)]
    assert f"drawing from cats version 1 through TF Serving at {address}" in (tmp_path / "remote.log").read_text()
