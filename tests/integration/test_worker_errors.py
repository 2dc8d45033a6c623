"""Errors a real worker meets: a domain error fails the job with its own message; anything else (a ValueError
raised inside a train step, say) fails it as unexpected AND shows its traceback in the worker's log."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.models import Dataset
from core.services.datasets import dataset_folder
from core.settings import Settings
from tests.integration.test_logs import json_lines
from tests.support.backends import Backend, settings_env, worker_process
from tests.support.http import upload
from tests.support.broken_step import BUG, EXTRA_MODELS
from tests.support.broken_step import NAME as BROKEN
from tests.support.images import image_bytes, image_zip, zip_of
from tests.support.jobs import finished, submit, wait_for

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 1000, "epochs": 1, "seed": 3}


@pytest.fixture
def env(backend: Backend, short_tmp: Path) -> dict[str, str]:
    """A deployment that knows broken-step, a model defined only in the tests (the API and the worker both)."""
    return settings_env(short_tmp / "home", backend, extra_models=EXTRA_MODELS)


def _train(client: FlaskClient, name: str) -> dict:
    dataset = upload(client, image_zip(8, size=32), "cats.zip")
    assert dataset.status_code == 201, dataset.get_json()
    return submit(client, {"type": "train", "model": "dcgan", "dataset": dataset.get_json()["id"],
                           "model_name": name, "params": TINY})


def _train_broken_step(client: FlaskClient) -> dict:
    """A job of the model whose train step raises ValueError, on two class folders of 8 images."""
    members = {f"{name}/{i}.png": image_bytes(24, seed=k * 100 + i) for k, name in enumerate(("a", "b"))
               for i in range(8)}
    dataset = upload(client, zip_of(members), "labelled.zip")
    assert dataset.status_code == 201, dataset.get_json()
    return submit(client, {"type": "train", "model": BROKEN, "dataset": dataset.get_json()["id"],
                           "model_name": "broken-run", "params": {"batch_size": 8, "epochs": 1, "seed": 3}})


def _shrink_dataset(sessions: sessionmaker[Session], settings: Settings, dataset_id: int, keep: int) -> None:
    """Delete images from the dataset's folder after submission: the worker finds fewer than one batch."""
    with sessions() as session:
        folder = dataset_folder(session.get(Dataset, dataset_id), settings)
    images = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in images[keep:]:
        path.unlink()


def test_a_value_error_shows_its_traceback_and_a_dataset_error_fails_quietly(
        client: FlaskClient, env: dict[str, str], settings: Settings, sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    broken = _train_broken_step(client)
    small = _train(client, "too-few-cats")
    _shrink_dataset(sessions, settings, small["dataset"], keep=4)
    log = tmp_path / "worker.log"
    with worker_process(env, log, queues="train"):
        broken_done = wait_for(client, broken["id"], finished, timeout=120)
        small_done = wait_for(client, small["id"], finished, timeout=120)

    assert broken_done["status"] == "failed"
    error = broken_done["error"]  # tf.function's tracing prefixes the step's frame ("in user code: ...")
    assert error.startswith("unexpected ValueError: ") and BUG in error
    assert error.endswith("The worker log has the traceback.")
    records = json_lines(log.read_text())
    [unexpected] = [r for r in records if r["message"] == f"job {broken['id']} failed unexpectedly"]
    assert unexpected["level"] == "ERROR" and unexpected["job_id"] == broken["id"]
    assert unexpected["exc_info"].startswith("Traceback (most recent call last):")
    assert 'gans/train.py", line' in unexpected["exc_info"]  # raised inside the training run, shown with its frames
    assert 'tests/support/broken_step/spec.py", line' in unexpected["exc_info"]  # ... down to the train step
    assert "ValueError: " in unexpected["exc_info"] and BUG in unexpected["exc_info"]

    assert small_done["status"] == "failed"
    assert small_done["error"] == "dataset has 4 images, fewer than batch_size 8"
    about_small = [r for r in records if r.get("job_id") == small["id"]]
    [failure] = [r for r in about_small if r["message"].startswith(f"job {small['id']} failed")]
    assert failure["level"] == "WARNING" and failure["message"].endswith("fewer than batch_size 8")
    assert not any("exc_info" in r for r in about_small)  # a message for the user, not a bug: no traceback
    assert "DatasetError" not in log.read_text()
