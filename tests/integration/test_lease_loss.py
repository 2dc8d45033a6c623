"""A real worker whose lease is taken mid-run writes nothing more: no checkpoint, no rows, no files."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from core.models import Artifact, Checkpoint, Job, utcnow
from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.images import image_zip
from tests.support.jobs import submit, wait_for

pytestmark = pytest.mark.slow

# 40 steps an epoch, slow enough steps that the steal lands well inside epoch 2
PARAMS = {"image_size": 32, "g_filters": 64, "d_filters": 16, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
          "sample_every_steps": 1000, "checkpoint_every_epochs": 1, "seed": 3, "epochs": 3}
FAST_LEASES = {"CATGAN_LEASE_SECONDS": "3", "CATGAN_HEARTBEAT_SECONDS": "0.5"}
STOPPED = re.compile(r"Task gan\.train\[\S+\] succeeded|leaving it to that worker")


def _written(settings: Settings, sessions: sessionmaker[Session], job_id: int) -> dict[str, Any]:
    """Everything the job's worker has written: its rows, and its files with their sizes and times.

    TensorBoard's event files are left out: each process appends to a file of its own name.
    """
    assert settings.artifact_dir is not None and settings.checkpoint_dir is not None
    files = {}
    for root in (settings.artifact_dir / f"job-{job_id}", settings.checkpoint_dir / f"job-{job_id}"):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "tensorboard" not in p.parts):
            stat = path.stat()
            files[str(path)] = (stat.st_size, stat.st_mtime_ns)
    with session_scope(sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        checkpoints = [(c.id, c.step, c.path, c.kept, c.best, c.digest) for c in session.scalars(
            select(Checkpoint).where(Checkpoint.job_id == job_id).order_by(Checkpoint.id))]
        artifacts = [(a.id, a.name, a.sha256) for a in session.scalars(
            select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.id))]
        row = (job.status, job.lease_holder, job.progress, job.metrics, job.warnings, job.error)
    return {"files": files, "checkpoints": checkpoints, "artifacts": artifacts, "job": row}


def test_a_worker_whose_lease_was_taken_writes_nothing_more(
        client: FlaskClient, env: dict[str, str], settings: Settings, sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(355, size=32)), "cats.zip")},  # 320 trained, 35 held out
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    job_id = submit(client, {"type": "train", "model": "dcgan", "dataset": upload.get_json()["id"],
                             "model_name": "paused", "params": PARAMS})["id"]
    log = tmp_path / "worker.log"
    with worker_process(env | FAST_LEASES, log):
        wait_for(client, job_id, lambda j: (j["progress"].get("step") or 0) > 42)  # past the epoch-1 checkpoint
        with session_scope(sessions) as session:  # what another worker's claim does while this one is paused
            session.execute(update(Job).where(Job.id == job_id).values(
                lease_holder="thief", lease_expires_at=utcnow() + timedelta(hours=1), attempts=Job.attempts + 1))
        stolen = _written(settings, sessions, job_id)
        deadline = time.monotonic() + 120
        while not STOPPED.search(log.read_text(errors="replace")):
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        time.sleep(1)
        after = _written(settings, sessions, job_id)
    assert [c[1] for c in stolen["checkpoints"]] == [40]  # the epoch-1 checkpoint, recorded before the steal
    assert stolen["job"][:2] == ("running", "thief")
    assert after == stolen  # not a row, not a file: no stop checkpoint, no retention marks, no loss curve
    assert re.search(r"lease lost|is no longer held by", log.read_text(errors="replace"))  # it noticed, and stopped
