"""Other models through the whole service: pix2pix trains, exports and translates an archive of sketches."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.support.backends import worker_process
from tests.support.images import image_zip
from tests.support.jobs import submit, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env, tmp_path / "worker.log"):
        yield


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_pix2pix_trains_and_translates_sketches(client: FlaskClient, worker: None) -> None:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(6, size=80)), "photos.zip")},
                         content_type="multipart/form-data")
    dataset = upload.get_json()["id"]
    params = {"image_size": 64, "ngf": 8, "ndf": 8, "epochs": 1, "quality_samples": 16,
              "seed": 2}
    trained = wait_for(client, submit(client, {"type": "train", "model": "pix2pix", "dataset": dataset,
                                               "params": params})["id"], timeout=300)
    assert trained["status"] == "succeeded", trained["error"]
    assert trained["progress"]["step"] == 6 and trained["metrics"]["swd_mean"] is not None
    version = client.get(f"/v1/model-versions/{trained['model_version']}").get_json()
    assert (version["model"], version["image_size"]) == ("pix2pix", 64)

    refused = submit(client, {"type": "generate", "model_version": version["id"], "count": 4}, status=422)
    assert "translate" in refused["error"]["message"]

    job = wait_for(client, submit(client, {"type": "translate", "model_version": version["id"], "dataset": dataset,
                                           "from_photos": True})["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    with client.get(f"/v1/jobs/{job['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = [n for n in zf.namelist() if n not in {"manifest.jsonl", "grid.png"}]
        assert len(names) == 6 and all(n.endswith(".png") for n in names)
        sources = [json.loads(line)["source"] for line in zf.read("manifest.jsonl").decode().splitlines()]
        assert [s.rsplit(".", 1)[0] for s in sources] == [n.removesuffix(".png") for n in names]
        assert Image.open(io.BytesIO(zf.read(names[0]))).size == (64, 64)


def _images_of(client: FlaskClient, job: dict) -> dict[str, Image.Image]:
    with client.get(f"/v1/jobs/{job['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = [n for n in zf.namelist() if n not in {"manifest.jsonl", "grid.png"}]
        return {name: Image.open(io.BytesIO(zf.read(name))) for name in names}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize("model,params,size,mode", [
    ("mlp-gan", {"batch_size": 8}, 28, "L"),
    ("keras-gan", {"batch_size": 4, "max_steps": 2}, 32, "RGB"),
])
def test_unconditional_models_train_and_generate(client: FlaskClient, worker: None, model: str, params: dict,
                                                 size: int, mode: str) -> None:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(16, size=40)), "cats.zip")},
                         content_type="multipart/form-data")
    trained = wait_for(client, submit(client, {"type": "train", "model": model, "dataset": upload.get_json()["id"],
                                               "params": {"epochs": 2, "quality_samples": 16, "seed": 3,
                                                          **params}})["id"])
    assert trained["status"] == "succeeded", trained["error"]
    job = wait_for(client, submit(client, {"type": "generate", "model_version": trained["model_version"],
                                           "count": 5, "seed": 1})["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    images = _images_of(client, job)
    assert len(images) == 5
    assert {(i.size, i.mode) for i in images.values()} == {((size, size), mode)}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_cgan_generates_the_asked_classes(client: FlaskClient, worker: None, tmp_path: Path) -> None:
    from tests.support.images import image_bytes, zip_of

    members = {f"{name}/{i}.png": image_bytes(32, seed=k * 100 + i) for k, name in enumerate(["ginger", "tabby",
                                                                                                "tuxedo"])
               for i in range(8)}
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(zip_of(members)), "labelled.zip")},
                         content_type="multipart/form-data")
    trained = wait_for(client, submit(client, {"type": "train", "model": "cgan", "dataset": upload.get_json()["id"],
                                               "params": {"epochs": 2, "batch_size": 8, "g_filters": 16,
                                                          "d_filters": 8, "quality_samples": 16, "seed": 4}})["id"])
    assert trained["status"] == "succeeded", trained["error"]
    version = client.get(f"/v1/model-versions/{trained['model_version']}").get_json()
    assert version["info"]["classes"] == ["ginger", "tabby", "tuxedo"]
    unknown = submit(client, {"type": "generate", "model_version": version["id"], "class_counts": {"siamese": 2}},
                    status=422)
    assert "ginger, tabby, tuxedo" in unknown["error"]["message"]
    job = wait_for(client, submit(client, {"type": "generate", "model_version": version["id"],
                                           "class_counts": {"tabby": 2, "ginger": 1}, "seed": 5})["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    assert sorted(_images_of(client, job)) == ["ginger/cat-0000000.png", "tabby/cat-0000001.png",
                                                "tabby/cat-0000002.png"]
