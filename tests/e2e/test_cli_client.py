"""The client commands run as a user runs them: the real `catgan` against a running API and worker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from catgan.client import CatganClient
from catgan.commands.resources import FACE_SIZES
from core.db import make_engine, make_session_factory
from core.faces import FACE_SIZES as core_face_sizes
from core.migrate import upgrade_database
from tests.support.auth import make_token
from tests.support.backends import api_process, embedded_backend, free_port, settings_env, settings_from_env, worker_process
from tests.conftest import SHARED_DATA
from tests.support.images import write_images

pytestmark = pytest.mark.slow
PHOTOS = SHARED_DATA / "cat-photos"

TINY = ["--param", "image_size=32", "--param", "g_filters=32", "--param", "d_filters=8", "--param", "kernel_size=4",
        "--param", "batch_size=8", "--param", "z_dim=16", "--param", "sample_every_steps=50", "--param", "seed=1"]


@dataclass(frozen=True)
class Service:
    url: str
    token: str
    root: Path

    def run(self, *args: str, url: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`catgan ARGS` with CATGAN_URL and CATGAN_TOKEN set, as a script would call it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
        env |= {"CATGAN_URL": url or self.url, "CATGAN_TOKEN": self.token, "CATGAN_HOME": str(self.root / "client")}
        return subprocess.run([sys.executable, "-m", "catgan.cli", *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def client(self) -> CatganClient:
        return CatganClient(self.url, token=self.token)


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    root = Path(tempfile.mkdtemp(prefix="cg-cli-", dir="/tmp"))
    try:
        with embedded_backend(root) as backend:
            env = settings_env(root / "home", backend)
            settings = settings_from_env(env)
            upgrade_database(settings)
            engine = make_engine(settings)
            token = make_token(make_session_factory(engine))
            engine.dispose()
            port = free_port()
            with api_process(env, root / "api.log", port), worker_process(env, root / "worker.log"):
                yield Service(f"http://127.0.0.1:{port}", token, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def dataset(service: Service) -> int:
    folder = service.root / "cats"
    write_images(folder, count=40, size=40)
    result = service.run("datasets", "add", str(folder), "--name", "cli-cats", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["name"], body["image_count"], body["source"]) == ("cli-cats", 40, "upload")
    return body["id"]


@pytest.fixture(scope="module")
def trained(service: Service, dataset: int) -> dict:
    """A tiny DCGAN trained with `catgan train --watch`, exported as cli-cats."""
    result = service.run("train", "--model", "dcgan", "--dataset", str(dataset), *TINY, "--param", "epochs=2",
                         "--model-name", "cli-cats", "--watch")
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("job ") and last.endswith("succeeded"), result.stdout
    assert "sheet samples-" in result.stdout and "/v1/artifacts/" in result.stdout  # the newest sheet's URL
    job_id = int(result.stdout.split()[1])
    return service.client().job(job_id)


def test_datasets_list_shows_the_upload(service: Service, dataset: int) -> None:
    result = service.run("datasets", "list")
    assert result.returncode == 0 and "cli-cats" in result.stdout and str(dataset) in result.stdout
    items = json.loads(service.run("datasets", "list", "--json").stdout)
    assert [d["id"] for d in items if d["name"] == "cli-cats"] == [dataset]


def test_datasets_add_faces_makes_a_dataset_of_the_cat_faces_in_photos(service: Service) -> None:
    if not PHOTOS.is_dir():
        pytest.skip(f"{PHOTOS} is not present")
    folder = service.root / "photos"
    folder.mkdir()
    for photo in sorted(PHOTOS.iterdir())[7::140][:6]:  # 2 of these 6 show a face to the cascade, one of them two
        shutil.copy(photo, folder / photo.name)
    result = service.run("datasets", "add", str(folder), "--name", "cli-faces", "--faces", "cat", "--face-size", "32",
                         "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    found = {k: body["faces"][k] for k in ("kind", "face_size", "photos", "face_photos", "faceless_photos", "faces",
                                           "unreadable")}
    assert found == {"kind": "cat", "face_size": 32, "photos": 6, "face_photos": 2, "faceless_photos": 4, "faces": 3,
                     "unreadable": 0}
    assert (body["name"], body["image_count"], body["held_out_count"]) == ("cli-faces", 3, 0)
    text = service.run("datasets", "add", str(folder), "--faces", "cat")  # the service's 64 px
    assert text.returncode == 0 and "3 images" in text.stdout and "3 faces from 2 of 6 photos" in text.stdout
    for bad in (["--face-size", "64"], ["--faces", "cat", "--face-size", "48"], ["--faces", "dog"]):
        usage = service.run("datasets", "add", str(folder), *bad)
        assert usage.returncode == 64 and usage.stderr.startswith("error: usage: ") and usage.stdout == "", bad
    assert FACE_SIZES == [str(size) for size in core_face_sizes]  # the CLI offers what the API takes


def test_train_watch_ends_succeeded_and_jobs_lists_it(service: Service, trained: dict) -> None:
    assert trained["status"] == "succeeded" and trained["progress"]["step"] == 10
    table = service.run("jobs", "--type", "train", "--status", "succeeded")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.split()[0] == str(trained["id"]))
    assert row.split()[1:4] == ["train", "succeeded", "dcgan"] and "100%" in row
    listed = json.loads(service.run("jobs", "--json", "--limit", "5").stdout)
    assert trained["id"] in [j["id"] for j in listed] and len(listed) <= 5


def test_json_watch_prints_json_lines_ending_with_the_status(service: Service, trained: dict) -> None:
    result = service.run("watch", str(trained["id"]), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["event"] == "status" and lines[-1]["data"] == {
        "id": trained["id"], "status": "succeeded", "previous": None, "error": None}
    assert all(line["data"]["id"] == trained["id"] for line in lines)


def test_generate_writes_the_images_and_download_fetches_them(service: Service, trained: dict) -> None:
    out = service.root / "generated"
    result = service.run("generate", "--model", "cli-cats:1", "-n", "20", "-o", str(out), "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["job"]["status"] == "succeeded" and body["count"] == 20
    cats = sorted(out.glob("cat-*.png"))
    assert len(cats) == 20
    with Image.open(cats[0]) as image:
        assert image.size == (32, 32)

    again = service.root / "downloaded"
    fetched = service.run("download", str(body["job"]["id"]), "-o", str(again))
    assert fetched.returncode == 0, fetched.stderr
    assert sorted(p.name for p in again.glob("cat-*.png")) == [p.name for p in cats]
    assert (again / cats[0].name).read_bytes() == cats[0].read_bytes()


def test_tensorboard_downloads_the_jobs_event_files(service: Service, trained: dict) -> None:
    logdir = service.root / "tb"
    result = service.run("tensorboard", str(trained["id"]), "--logdir", str(logdir), "--no-launch", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    files = [Path(f) for f in body["files"]]
    assert body["logdir"] == str(logdir) and files
    assert all(f.parent == logdir / f"job-{trained['id']}" and f.name.startswith("events.out.tfevents.")
               for f in files)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(files[0].parent))
    events.Reload()
    assert {"g_loss", "d_loss"} & set(events.Tags()["scalars"]) or events.Tags()["tensors"]


def test_tensorboard_of_a_job_without_event_files_is_one_error_line(service: Service, trained: dict) -> None:
    client = service.client()
    job = client.wait(client.generate(model_name="cli-cats", count=2, seed=1)["id"], timeout=120)
    assert job["status"] == "succeeded"
    result = service.run("tensorboard", str(job["id"]), "--no-launch")
    assert result.returncode == 3 and result.stderr.startswith("error: no_event_files: "), result.stderr


def test_label_and_models(service: Service, trained: dict) -> None:
    result = service.run("label", "cli-cats", "stable", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["labels"] == {"stable": 1}
    listing = service.run("models")
    assert "cli-cats" in listing.stdout and "stable=1" in listing.stdout
    removed = json.loads(service.run("label", "cli-cats", "stable", "--remove", "--json").stdout)
    assert removed["labels"] == {}


def test_cancelling_a_running_job_ends_its_watch_with_exit_2(service: Service, dataset: int) -> None:
    submitted = service.run("train", "--dataset", str(dataset), *TINY, "--param", "epochs=100000",
                            "--param", "checkpoint_every_epochs=1000", "--json")
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["status"] == "queued"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
    watcher = subprocess.Popen([sys.executable, "-m", "catgan.cli", "watch", str(job["id"]), "--url", service.url,
                                "--token", service.token], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        client, deadline = service.client(), time.monotonic() + 240
        while (client.job(job["id"])["progress"].get("step") or 0) == 0:
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.2)
        cancelled = service.run("cancel", str(job["id"]))
        assert cancelled.returncode == 0 and f"job {job['id']}" in cancelled.stdout, cancelled.stderr
        out, err = watcher.communicate(timeout=120)
    finally:
        watcher.kill()
    assert watcher.returncode == 2, out + err
    assert out.strip().splitlines()[-1].startswith(f"job {job['id']} (train) cancelled")


def test_a_bad_dataset_is_one_error_line_with_its_code(service: Service) -> None:
    result = service.run("train", "--dataset", "987654", *TINY)
    assert result.returncode == 3 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: dataset_not_found: ") and "No such dataset" in line, line
    usage = service.run("train", "--dataset", "x")
    assert usage.returncode == 64 and usage.stderr.startswith("error: usage: ") and usage.stdout == ""


def test_an_unreachable_service_is_a_connection_error(service: Service) -> None:
    result = service.run("jobs", url=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 4 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: connection_error: cannot reach http://127.0.0.1:") and "refused" in line, line
