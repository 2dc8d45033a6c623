"""Errors a real worker meets: a domain error fails the job with its own message; anything else (a ValueError
out of a library, say) fails it as unexpected AND shows its traceback in the worker's log."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.models import Dataset
from core.services.datasets import dataset_folder
from core.settings import Settings
from tests.integration.test_logs import json_lines
from tests.support.backends import worker_process
from tests.support.http import upload
from tests.support.images import image_zip
from tests.support.jobs import finished, submit, wait_for

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 1000, "epochs": 1, "seed": 3}


def _train(client: FlaskClient, name: str) -> dict:
    dataset = upload(client, image_zip(8, size=32), "cats.zip")
    assert dataset.status_code == 201, dataset.get_json()
    return submit(client, {"type": "train", "model": "dcgan", "dataset": dataset.get_json()["id"],
                           "model_name": name, "params": TINY})


def _worker_meeting_a_value_error(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A worker whose runs meet a ValueError no domain check knows, raised by Keras inside gans.train.

    CATGAN_INCEPTION_WEIGHTS names a file that is no Keras weights file, so measuring FID at the end of the run
    raises `ValueError: File format not supported` (as a NumPy or TensorFlow bug would). Swap for a fixture model
    whose train_step raises ValueError once models can be registered into a worker process.
    """
    weights = tmp_path / "inception.bin"
    weights.write_bytes(b"not a weights file")
    return env | {"CATGAN_INCEPTION_WEIGHTS": str(weights)}


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
    broken = _train(client, "broken-run")
    small = _train(client, "too-few-cats")
    _shrink_dataset(sessions, settings, small["dataset"], keep=4)
    log = tmp_path / "worker.log"
    with worker_process(_worker_meeting_a_value_error(env, tmp_path), log, queues="train"):
        broken_done = wait_for(client, broken["id"], finished, timeout=120)
        small_done = wait_for(client, small["id"], finished, timeout=120)

    assert broken_done["status"] == "failed"
    assert broken_done["error"].startswith("unexpected ValueError: File format not supported: filepath=")
    assert broken_done["error"].endswith("The worker log has the traceback.")
    records = json_lines(log.read_text())
    [unexpected] = [r for r in records if r["message"] == f"job {broken['id']} failed unexpectedly"]
    assert unexpected["level"] == "ERROR" and unexpected["job_id"] == broken["id"]
    assert unexpected["exc_info"].startswith("Traceback (most recent call last):")
    assert 'gans/train.py", line' in unexpected["exc_info"]  # raised inside the training run, shown with its frames
    assert 'gans/metrics/fid.py", line' in unexpected["exc_info"]
    assert "\nValueError: File format not supported: filepath=" in unexpected["exc_info"]

    assert small_done["status"] == "failed"
    assert small_done["error"] == "dataset has 4 images, fewer than batch_size 8"
    about_small = [r for r in records if r.get("job_id") == small["id"]]
    [failure] = [r for r in about_small if r["message"].startswith(f"job {small['id']} failed")]
    assert failure["level"] == "WARNING" and failure["message"].endswith("fewer than batch_size 8")
    assert not any("exc_info" in r for r in about_small)  # a message for the user, not a bug: no traceback
    assert "DatasetError" not in log.read_text()
