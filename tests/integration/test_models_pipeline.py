"""Other models through the whole service: pix2pix trains, exports and translates an archive of sketches."""

from __future__ import annotations

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

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env, tmp_path / "worker.log"):
        yield


def _finished(client: FlaskClient, job_id: int, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        if job["status"] in {"succeeded", "failed", "cancelled"}:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _post(client: FlaskClient, body: dict, status: int = 202) -> dict:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_pix2pix_trains_and_translates_sketches(client: FlaskClient, worker: None) -> None:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(6, size=80)), "photos.zip")},
                         content_type="multipart/form-data")
    dataset = upload.get_json()["id"]
    params = {"image_size": 64, "ngf": 8, "ndf": 8, "epochs": 1, "sample_every_steps": 3, "quality_samples": 16,
              "seed": 2}
    trained = _finished(client, _post(client, {"type": "train", "model": "pix2pix", "dataset": dataset,
                                               "params": params})["id"])
    assert trained["status"] == "succeeded", trained["error"]
    assert trained["progress"]["step"] == 6 and trained["metrics"]["swd_mean"] is not None
    version = client.get(f"/v1/model-versions/{trained['model_version']}").get_json()
    assert (version["model"], version["image_size"]) == ("pix2pix", 64)

    refused = _post(client, {"type": "generate", "model_version": version["id"], "count": 4}, status=422)
    assert "translate" in refused["error"]["message"]

    job = _finished(client, _post(client, {"type": "translate", "model_version": version["id"], "dataset": dataset,
                                           "from_photos": True})["id"])
    assert job["status"] == "succeeded", job["error"]
    [archive] = [a for a in job["artifacts"] if a["kind"] == "images"]
    with client.get(archive["url"]) as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = zf.namelist()
        assert len(names) == 6 and all(n.endswith(".png") for n in names)
        assert Image.open(io.BytesIO(zf.read(names[0]))).size == (64, 64)
