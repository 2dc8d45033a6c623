"""Damaged files on a real worker: a truncated checkpoint and corrupted image shards, found and redone on resume."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Checkpoint
from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.images import image_zip
from tests.support.jobs import all_artifacts, all_checkpoints, finished, submit, wait_for
from tests.support.models import publish_tiny_generator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["embedded"], indirect=True)]

# 40 images / batch 8 = 5 steps per epoch, a checkpoint at every epoch end; the checkpoint a resumed run writes
# again at a step it trained again has the sha256 of the first one (the resume is exact). The time budget ends
# the resumed run (the first is cancelled long before it runs out, however fast the machine is).
TRAIN = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
         "sample_every_steps": 50, "checkpoint_every_epochs": 1, "keep_checkpoints": 3, "seed": 1,
         "epochs": 100_000, "max_seconds": 25.0, "quality_samples": 16}


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    with worker_process(env | {"CATGAN_ENCODE_WORKERS": "2"}, tmp_path / "worker.log"):
        yield


def _regular(client: FlaskClient, job: dict) -> list[dict]:
    return [c for c in all_checkpoints(client, job["id"]) if not c["best"]]


def test_a_truncated_newest_checkpoint_is_skipped_and_the_job_resumes_from_the_one_before(
        client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], worker: None,
        tmp_path: Path) -> None:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(40, size=40)), "cats.zip")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    job = submit(client, {"type": "train", "model": "dcgan", "dataset": upload.get_json()["id"],
                           "model_name": "sturdy-cats", "params": TRAIN})
    wait_for(client, job["id"], lambda j: j["checkpoint_count"] >= 2)
    client.post(f"/v1/jobs/{job['id']}/cancel")
    cancelled = wait_for(client, job["id"], finished)
    assert cancelled["status"] == "cancelled", cancelled["error"]
    *_, previous, newest = [c["step"] for c in _regular(client, cancelled) if c["kept"]]
    assert newest == cancelled["metrics"]["steps"] and previous % 5 == 0 and previous < newest
    all_checkpoints_cancelled = all_checkpoints(client, job["id"])
    all_artifacts_cancelled = all_artifacts(client, job["id"])

    run_dir = settings.checkpoint_dir / f"job-{job['id']}"
    shutil.copytree(run_dir, tmp_path / "backup")
    for data in run_dir.glob("ckpt-*.data-*"):  # every checkpoint damaged: the job fails saying what to do
        with data.open("r+b") as fh:
            fh.truncate(data.stat().st_size // 2)
    assert client.post(f"/v1/jobs/{job['id']}/resume").status_code == 202
    failed = wait_for(client, job["id"], finished)
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"no checkpoint could be restored: {run_dir}/ckpt-{newest} (its files do not "
                                      f"match ckpt-{newest}.sha256 (sha256 ")
    assert f"; {run_dir}/ckpt-{previous} (its files do not match ckpt-{previous}.sha256" in failed["error"]
    assert failed["error"].endswith(f"Put back intact copies of these files, or move {run_dir} aside to train this "
                                    "run again from scratch; then resume it.")
    assert all_checkpoints(client, job["id"]) == all_checkpoints_cancelled
    assert all_artifacts(client, job["id"]) == all_artifacts_cancelled

    for name in (f.name for f in (tmp_path / "backup").glob("ckpt-*") if not f.name.startswith(f"ckpt-{newest}.")):
        shutil.copy2(tmp_path / "backup" / name, run_dir / name)  # as the message says: all but the newest
    assert client.post(f"/v1/jobs/{job['id']}/resume").status_code == 202
    done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]

    [warning] = [w for w in done["warnings"] if w.startswith("resumed from")]
    assert warning.startswith(f"resumed from ckpt-{previous} at step {previous} because newer checkpoints could "
                              f"not be restored: ckpt-{newest} (its files do not match ckpt-{newest}.sha256 (sha256 ")
    original = (tmp_path / "backup" / f"ckpt-{newest}.sha256").read_text().strip()
    old_ids = {c["id"] for c in all_checkpoints_cancelled}
    after = [c["step"] for c in _regular(client, done) if c["id"] not in old_ids]
    # ckpt-{newest} was written again over the damaged one: its row is updated, not repeated
    assert [c["step"] for c in _regular(client, done)].count(newest) == 1
    with sessions() as session:  # trained again from ckpt-{previous}: the same files, byte for byte (an exact resume)
        again = session.scalar(select(Checkpoint.digest).where(Checkpoint.job_id == job["id"],
                                                               Checkpoint.path == f"job-{job['id']}/ckpt-{newest}"))
    assert again == original
    sheets = [a["info"]["step"] for a in all_artifacts(client, job["id"], kind="sample_grid")]
    assert sheets and len(sheets) == len(set(sheets))  # one row per sheet, made again or not
    # the cancel may have landed mid-epoch: after ckpt-{newest} (written again above) come the epoch ends
    assert after[0] == (newest // 5 + 1) * 5 and after == sorted(after)
    assert done["metrics"]["steps"] == done["progress"]["step"] > newest and done["metrics"]["warned"] is True
    assert done["model_version"] is not None

    with sessions() as session:
        rows = session.scalars(select(Checkpoint).where(Checkpoint.job_id == job["id"], Checkpoint.kept)
                               .order_by(Checkpoint.id)).all()
        digests = {row.path: row.digest for row in rows}
    assert len(digests) == 4 and sum("best/" in path for path in digests) == 1  # the last 3 and the best copy
    for path, digest in digests.items():
        assert digest == (settings.checkpoint_dir / f"{path}.sha256").read_text().strip()


def _shards(client: FlaskClient, job: dict) -> list[dict]:
    return sorted(all_artifacts(client, job["id"], kind="images_shard"), key=lambda a: a["info"]["shard"])


def _rows(shards: list[dict]) -> set[tuple[int, str]]:
    return {(s["id"], s["created_at"]) for s in shards}


def test_corrupted_shards_are_written_again_on_resume(client: FlaskClient, settings: Settings,
                                                       worker: None) -> None:
    version = publish_tiny_generator(settings, "cats", seed=4)
    body = {"type": "generate", "model_version": version, "count": 3000, "seed": 11, "shard_size": 400}
    whole = wait_for(client, submit(client, body)["id"], finished)
    assert whole["status"] == "succeeded", whole["error"]

    job = submit(client, body)
    wait_for(client, job["id"], lambda j: j["artifact_count"] >= 2)
    client.post(f"/v1/jobs/{job['id']}/cancel")
    cancelled = wait_for(client, job["id"], finished)
    assert cancelled["status"] == "cancelled"
    kept = _shards(client, cancelled)
    assert 2 <= len(kept) < 8
    first, second = (settings.artifact_dir / f"job-{job['id']}" / f"images-{k:05d}.zip" for k in (0, 1))
    with first.open("r+b") as fh:  # truncated
        fh.truncate(first.stat().st_size // 2)
    raw = bytearray(second.read_bytes())  # one flipped byte: same size, another sha256
    raw[len(raw) // 2] ^= 0xFF
    second.write_bytes(bytes(raw))

    assert client.post(f"/v1/jobs/{job['id']}/resume").status_code == 202
    done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    shards = _shards(client, done)
    assert [s["info"]["shard"] for s in shards] == list(range(8))  # one row per shard: the damaged rows are gone
    assert [s["sha256"] for s in shards] == [s["sha256"] for s in _shards(client, whole)]  # as a clean run
    # intact rows kept, the damaged two are new rows (by creation time too: SQLite reuses the newest rows' ids)
    assert _rows(shards) & _rows(kept) == _rows(kept[2:])
    for shard in shards[:2]:
        with client.get(shard["url"]) as response:  # the files on disk are the new ones
            assert response.status_code == 200 and len(response.data) == shard["size"]
