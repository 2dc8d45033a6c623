"""A model defined only in the tests plugs in through CATGAN_EXTRA_MODELS and goes through the whole service.

tests/support/tiny_cgan is a conditional GAN that no module of the house knows by name: the API validates
and documents its params from its config, a real worker trains and exports it, its model version records
kind and signature, and generate jobs draw the asked classes through both backends (the SavedModel in the
worker, and TF Serving's gRPC API as `catgan serving` speaks it) with the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gans.registry import model_names, unregister
from tests.support.backends import Backend, free_port, serving_process, settings_env, worker_process
from tests.support.images import image_bytes, zip_of
from tests.support.jobs import submit, wait_for
from tests.support.tiny_cgan import EXTRA_MODELS, NAME
from tests.support.tiny_cgan.declaration import DECLARATION, TinyCGANConfig

CLASSES = ["ginger", "tabby"]
PARAMS = {"epochs": 2, "batch_size": 8, "quality_samples": 16, "z_dim": 4, "width": 4, "seed": 4}


@pytest.fixture
def env(backend: Backend, short_tmp: Path) -> Iterator[dict[str, str]]:
    """A deployment whose API and workers plug in the tiny cGAN; it leaves this process's registry as it was."""
    yield settings_env(short_tmp / "home", backend, extra_models=EXTRA_MODELS)
    if NAME in model_names():
        unregister(NAME)


def _labelled_dataset(client: FlaskClient) -> int:
    members = {f"{name}/{i}.png": image_bytes(24, seed=k * 100 + i) for k, name in enumerate(CLASSES)
               for i in range(8)}
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(zip_of(members)), "labelled.zip")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    return upload.get_json()["id"]


def _generate(client: FlaskClient, version: int) -> dict:
    job = wait_for(client, submit(client, {"type": "generate", "model_version": version, "seed": 5,
                                           "class_counts": {"tabby": 2, "ginger": 1}})["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    return job


def _images(client: FlaskClient, job: dict) -> dict[str, bytes]:
    with client.get(f"/v1/jobs/{job['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n not in {"manifest.jsonl", "grid.png"}}


def test_the_api_validates_and_documents_a_plugged_in_models_params(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    documented = spec["components"]["schemas"]["TinyCganTrainParams"]["properties"]
    assert documented["width"]["description"] == "channels of both nets' one hidden feature map"
    assert (documented["width"]["default"], documented["width"]["maximum"]) == (8, 64)
    refused = submit(client, {"type": "train", "model": NAME, "dataset": _labelled_dataset(client),
                              "params": {"width": 65}}, status=422)
    assert list(refused["error"]["fields"]["params"]) == ["width"]
    unknown = submit(client, {"type": "train", "model": "nope", "dataset": 1}, status=422)
    assert unknown["error"]["code"] == "unknown_model" and NAME in unknown["error"]["message"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_model_defined_in_a_test_trains_exports_serves_and_generates(client: FlaskClient, env: dict[str, str],
                                                                        tmp_path: Path) -> None:
    with worker_process(env, tmp_path / "local.log"):
        trained = wait_for(client, submit(client, {"type": "train", "model": NAME,
                                                   "dataset": _labelled_dataset(client), "params": PARAMS})["id"])
        assert trained["status"] == "succeeded", trained["error"]
        version = client.get(f"/v1/model-versions/{trained['model_version']}").get_json()
        config = TinyCGANConfig(**{**PARAMS, "class_names": tuple(CLASSES)})
        assert (version["model"], version["kind"]) == (NAME, "conditional")
        assert version["signature"] == DECLARATION.signature(config).to_dict()
        assert version["info"]["classes"] == CLASSES and (version["image_size"], version["z_dim"]) == (16, 4)
        refused = submit(client, {"type": "translate", "model_version": version["id"], "dataset": 1}, status=422)
        assert refused["error"]["fields"] == {"model_version": ["Not an image-to-image model."]}
        local = _images(client, _generate(client, version["id"]))
    assert sorted(local) == ["ginger/cat-0000000.png", "tabby/cat-0000001.png", "tabby/cat-0000002.png"]

    address = f"127.0.0.1:{free_port()}"
    remote_env = env | {"CATGAN_GENERATOR_BACKEND": "tfserving", "CATGAN_SERVING_ADDRESS": address}
    with serving_process(env, tmp_path / "serving.log", address), \
            worker_process(remote_env, tmp_path / "remote.log"):
        remote = _images(client, _generate(client, version["id"]))
    assert remote == local  # the request built from the recorded signature, the same bytes either way
    assert "through TF Serving" in (tmp_path / "remote.log").read_text()
