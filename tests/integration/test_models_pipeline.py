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

    # a walk keeps one class, and starts at the plain image of its first seed in that class
    unknown = submit(client, {"type": "generate", "model_version": version["id"],
                              "walk": {"seeds": [5, 6], "class": "siamese"}}, status=422)
    assert "ginger, tabby, tuxedo" in unknown["error"]["message"]
    walk = wait_for(client, submit(client, {"type": "generate", "model_version": version["id"],
                                            "walk": {"seeds": [5, 6], "frames": 2, "class": "tabby"}})["id"])
    plain = wait_for(client, submit(client, {"type": "generate", "model_version": version["id"],
                                             "class_counts": {"tabby": 1}, "seed": 5})["id"])
    assert walk["status"] == plain["status"] == "succeeded", (walk["error"], plain["error"])
    with client.get(f"/v1/jobs/{walk['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        assert {json.loads(line)["class"] for line in zf.read("manifest.jsonl").decode().splitlines()} == {"tabby"}
        first = zf.read("frame-0000.png")
    with client.get(f"/v1/jobs/{plain['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        assert zf.read("tabby/cat-0000000.png") == first


def _grey_zip(count: int, size: int) -> bytes:
    """The photos of image_zip(count, size) as grey PNGs (mode L), each the luma gans.pairs.grey_photo draws."""
    import numpy as np
    import tensorflow as tf

    from gans.pairs import grey_photo
    from tests.support.images import make_image, zip_of

    members = {}
    for i in range(count):
        grey = grey_photo(tf.constant(np.asarray(make_image(size, i)))).numpy()[..., 0]  # (S, S)
        buffer = io.BytesIO()
        Image.fromarray(grey, mode="L").save(buffer, format="PNG")
        members[f"cats/cat-{i:03d}.png"] = buffer.getvalue()
    return zip_of(members)


def _upload(client: FlaskClient, data: bytes, name: str) -> int:
    response = client.post("/v1/datasets", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _result_images(client: FlaskClient, job_id: int) -> tuple[dict[str, bytes], Image.Image]:
    with client.get(f"/v1/jobs/{job_id}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        images = {n: zf.read(n) for n in zf.namelist() if n not in {"manifest.jsonl", "grid.png"}}
        return images, Image.open(io.BytesIO(zf.read("grid.png"))).convert("RGB")


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_pix2pix_learns_grey_to_colour_and_translates_grey_photos(client: FlaskClient, worker: None) -> None:
    import numpy as np

    colour = _upload(client, image_zip(6, size=64), "photos.zip")
    params = {"image_size": 64, "ngf": 8, "ndf": 8, "epochs": 1, "quality_samples": 16, "seed": 2,
              "source": "grayscale"}
    trained = wait_for(client, submit(client, {"type": "train", "model": "pix2pix", "dataset": colour,
                                               "params": params})["id"], timeout=300)
    assert trained["status"] == "succeeded", trained["error"]
    version = trained["model_version"]
    refused = submit(client, {"type": "generate", "model_version": version, "walk": {"points": 2}}, status=422)
    assert "translate" in refused["error"]["message"]

    grey = _upload(client, _grey_zip(6, size=64), "grey.zip")
    from_grey = wait_for(client, submit(client, {"type": "translate", "model_version": version,
                                                 "dataset": grey})["id"], timeout=300)
    from_colour = wait_for(client, submit(client, {"type": "translate", "model_version": version,
                                                   "dataset": colour})["id"], timeout=300)
    assert from_grey["status"] == from_colour["status"] == "succeeded", (from_grey["error"], from_colour["error"])
    grey_out, _ = _result_images(client, from_grey["id"])
    colour_out, sheet = _result_images(client, from_colour["id"])
    assert len(grey_out) == 6
    # a colour photo is made grey first, the way the model was trained: the same answer as its grey photo
    assert colour_out == grey_out
    for data in grey_out.values():
        out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)  # (64, 64, 3)
        assert out.shape == (64, 64, 3) and np.abs(out[..., 0] - out[..., 2]).max() > 0  # colour, not grey
    pixels = np.asarray(sheet).astype(int)  # two (input | output) pairs a row, enlarged: the inputs are grey
    tile = pixels.shape[1] // 4  # 64 px times the enlargement
    inputs = np.concatenate([pixels[:, :tile], pixels[:, 2 * tile:3 * tile]], axis=1)
    outputs = np.concatenate([pixels[:, tile:2 * tile], pixels[:, 3 * tile:]], axis=1)
    assert np.abs(outputs[..., 0] - outputs[..., 2]).max() > 0
    assert (inputs[..., 0] == inputs[..., 1]).all() and (inputs[..., 1] == inputs[..., 2]).all()
