"""Latent walks on a real worker: the same request makes the same animation, through the plain images of its seeds."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageSequence

from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.jobs import all_artifacts, submit, wait_for
from tests.support.models import publish_tiny_generator

EMBEDDED = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env | {"CATGAN_ENCODE_WORKERS": "1"}, tmp_path / "worker.log"):
        yield


def _run(client: FlaskClient, **body: object) -> dict:
    job = wait_for(client, submit(client, {"type": "generate", **body})["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    return job


def _result(client: FlaskClient, job: dict) -> tuple[dict[str, bytes], list[dict]]:
    """The job's images by name and its manifest, from the flat result zip."""
    with client.get(f"/v1/jobs/{job['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        images = {n: zf.read(n) for n in zf.namelist() if n.endswith(".png") and n != "grid.png"}
        manifest = [json.loads(line) for line in zf.read("manifest.jsonl").decode().splitlines()]
        return images, manifest


def _animation(client: FlaskClient, job: dict) -> tuple[dict, bytes]:
    (artifact,) = all_artifacts(client, job["id"], kind="walk")
    with client.get(artifact["url"]) as response:
        assert response.status_code == 200
        return artifact, response.data


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.slow
@EMBEDDED
def test_a_walk_is_byte_identical_by_seed_and_passes_through_its_seeds_images(
        client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "walkers", seed=5)
    body = {"model_version": version, "walk": {"seeds": [3, 9, 4], "frames": 4, "fps": 10}}
    first, second = _run(client, **body), _run(client, **body)
    artifact, animation = _animation(client, first)
    assert (artifact["name"], artifact["content_type"], artifact["info"]["frames"]) == ("walk.webp", "image/webp", 9)
    assert _animation(client, second)[1] == animation  # the same request, the same bytes
    frames, manifest = _result(client, first)
    assert _result(client, second) == (frames, manifest) and first["metrics"]["images"] == 9
    assert sorted(frames) == [f"frame-{i:04d}.png" for i in range(9)]
    assert [(m["frame"], m["t"], m["from_seed"], m["to_seed"]) for m in manifest] == [
        (0, 0.0, 3, 9), (1, 0.25, 3, 9), (2, 0.5, 3, 9), (3, 0.75, 3, 9),
        (4, 0.0, 9, 4), (5, 0.25, 9, 4), (6, 0.5, 9, 4), (7, 0.75, 9, 4), (8, 1.0, 9, 4)]

    for frame, seed in (("frame-0000.png", 3), ("frame-0004.png", 9), ("frame-0008.png", 4)):
        plain, _ = _result(client, _run(client, model_version=version, count=1, seed=seed))
        assert frames[frame] == plain["cat-0000000.png"], f"{frame} is the plain image of seed {seed}"
    assert frames["frame-0001.png"] != frames["frame-0000.png"]

    shown = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(io.BytesIO(animation)))]
    assert len(shown) == 9 and shown[0].shape == (512, 512, 3)  # 16 px frames, 32x nearest
    np.testing.assert_array_equal(shown[0], _pixels(frames["frame-0000.png"]).repeat(32, 0).repeat(32, 1))
    webp = Image.open(io.BytesIO(animation))
    webp.load()
    assert (webp.format, webp.info["duration"], webp.info["loop"]) == ("WEBP", 100, 0)  # 10 fps, looping


@pytest.mark.slow
@EMBEDDED
def test_a_looping_gif_walk_of_points_visits_the_seeds_from_the_jobs_seed(
        client: FlaskClient, settings: Settings, worker: None) -> None:
    version = publish_tiny_generator(settings, "loopers", seed=6)
    job = _run(client, model_version=version, seed=7, walk={"points": 3, "frames": 2, "loop": True, "format": "gif"})
    assert job["params"]["walk"]["seeds"] == [7, 8, 9] and job["params"]["count"] == 6
    frames, manifest = _result(client, job)
    assert [(m["from_seed"], m["to_seed"]) for m in manifest] == [(7, 8), (7, 8), (8, 9), (8, 9), (9, 7), (9, 7)]
    artifact, animation = _animation(client, job)
    assert (artifact["name"], artifact["content_type"]) == ("walk.gif", "image/gif")
    gif = Image.open(io.BytesIO(animation))
    assert gif.format == "GIF" and gif.n_frames == 6 and gif.size == (512, 512) and gif.info["loop"] == 0
    with client.get(f"/v1/jobs/{job['id']}/result") as response, zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        assert zf.read("walk.gif") == animation  # the animation is in the result zip too


@EMBEDDED
@pytest.mark.parametrize("walk,extra,field", [
    ({"seeds": [1, 2], "points": 3}, {}, "seeds"),
    ({"seeds": [1]}, {}, "seeds"),
    ({"points": 2, "format": "mp4"}, {}, "format"),
    ({"points": 2, "fps": 0}, {}, "fps"),
    ({"points": 2}, {"count": 4}, "count"),
    ({"points": 2}, {"dedupe": True}, "dedupe"),
])
def test_bad_walks_are_refused_with_the_field_to_fix(client: FlaskClient, settings: Settings, walk: dict,
                                                     extra: dict, field: str) -> None:
    version = publish_tiny_generator(settings, "refusals")
    body = submit(client, {"type": "generate", "model_version": version, "walk": walk, **extra}, status=422)
    assert body["error"]["code"] == "validation_error"
    fields = body["error"]["fields"]
    assert field in fields or field in fields.get("walk", {}), fields


@EMBEDDED
def test_a_walk_too_long_or_of_a_class_an_unconditional_model_lacks_is_refused(
        client: FlaskClient, settings: Settings) -> None:
    version = publish_tiny_generator(settings, "refusals")
    long = submit(client, {"type": "generate", "model_version": version, "walk": {"points": 64, "frames": 120}},
                  status=422)
    assert "7561 frames, more than 300" in long["error"]["message"] and "frames" in long["error"]["fields"]["walk"]
    classy = submit(client, {"type": "generate", "model_version": version, "walk": {"points": 2, "class": "tabby"}},
                    status=422)
    assert "not conditional" in classy["error"]["message"] and "class" in classy["error"]["fields"]["walk"]
    jobs = client.get("/v1/jobs").get_json()["items"]
    assert jobs == []  # nothing half-stored
