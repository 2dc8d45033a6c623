"""Faults injected into a running deployment: killed workers, duplicate deliveries, a flushed broker,
dropped database connections. Each ends with every job accounted for and trained exactly once.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from core.embedded_redis import start_embedded_redis, stop_embedded_redis
from core.queue import enqueue_job, make_celery
from core.settings import Settings
from core.sweeper import queued_job_ids
from tests.support.backends import Backend, kill_group, sweeper_process, worker_process
from tests.support.images import image_zip
from tests.support.jobs import finished, submit, wait_for
from tests.support.models import publish_tiny_generator

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 1000, "checkpoint_every_epochs": 1, "seed": 3}
# uploads whose training split (after the 10% held out, gans.holdout) is 320 and 160 images: 40 and 20 steps
TRAINED_320, TRAINED_160 = 355, 177
WIDER = {"g_filters": 64, "d_filters": 16}  # slower steps, so that "during epoch 2" is a wide enough window
FAST_LEASES = {"CATGAN_LEASE_SECONDS": "3", "CATGAN_HEARTBEAT_SECONDS": "0.5", "CATGAN_SWEEP_INTERVAL_SECONDS": "0.5",
               "CATGAN_QUEUED_GRACE_SECONDS": "1"}


def _train(client: FlaskClient, images: int, epochs: int, name: str, **params: object) -> dict:
    upload = client.post("/v1/datasets", data={"file": (io.BytesIO(image_zip(images, size=32)), "cats.zip")},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    return submit(client, {"type": "train", "model": "dcgan", "dataset": upload.get_json()["id"],
                            "model_name": name, "params": TINY | {"epochs": epochs} | params})


def _versions(client: FlaskClient, name: str) -> list[int]:
    model = client.get(f"/v1/models/{name}")
    return [v["version"] for v in model.get_json()["versions"]] if model.status_code == 200 else []


def test_a_killed_worker_s_job_is_resumed_by_the_next_from_its_checkpoint(
        client: FlaskClient, env: dict[str, str], tmp_path: Path) -> None:
    env = env | FAST_LEASES
    job = _train(client, images=TRAINED_320, epochs=3, name="survivor", **WIDER)  # 40 steps an epoch
    with sweeper_process(env, tmp_path / "sweeper.log"):
        with worker_process(env, tmp_path / "killed.log") as doomed:
            running = wait_for(client, job["id"], lambda j: (j["progress"].get("step") or 0) > 42)  # in epoch 2
            kill_group(doomed)  # kill -9: the worker and the child running the job, no goodbye
            killed_at = running["progress"]["step"]
        orphaned = client.get(f"/v1/jobs/{job['id']}").get_json()
        assert orphaned["status"] == "running"  # nobody told the database; only the lease will
        requeued = wait_for(client, job["id"], lambda j: j["status"] == "queued", timeout=30)
        recorded = [c["step"] for c in requeued["checkpoints"] if not c["best"]][-1]
        assert recorded in (40, 80)  # epoch checkpoints only: the kill gave no chance to save on the way out
        with worker_process(env, tmp_path / "second.log"):
            done = wait_for(client, job["id"], finished)
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == done["progress"]["total_steps"] == 120 and done["progress"]["epoch"] == 3
    steps = [c["step"] for c in done["checkpoints"] if not c["best"]]
    assert steps == [40, 80, 120] and killed_at > 40
    second = (tmp_path / "second.log").read_text()
    assert "attempt 2, resuming" in second
    # from the newest checkpoint on disk: the last one recorded, or the next if the worker died between saving
    # it and recording it (the resumed run records it then)
    resumed_at = int(re.search(r"resumed from \S+ckpt-\d+ at step (\d+)", second).group(1))
    assert resumed_at in (recorded, recorded + 40) and resumed_at < 120
    assert _versions(client, "survivor") == [1]  # exported exactly once


def test_a_duplicate_delivery_of_a_running_job_is_dropped(client: FlaskClient, env: dict[str, str],
                                                          settings: Settings, tmp_path: Path) -> None:
    job = _train(client, images=TRAINED_160, epochs=2, name="once")
    with worker_process(env, tmp_path / "first.log"):
        wait_for(client, job["id"], lambda j: (j["progress"].get("step") or 0) > 2)
        enqueue_job(make_celery(settings), job["id"], "train")  # what a visibility-timeout redelivery does
        with worker_process(env, tmp_path / "second.log", queues="train"):
            done = wait_for(client, job["id"], finished)
            time.sleep(1)
    assert done["status"] == "succeeded", done["error"]
    second = (tmp_path / "second.log").read_text()
    assert f"job {job['id']} is not this worker's to run" in second
    assert _versions(client, "once") == [1]
    assert [c["step"] for c in done["checkpoints"] if not c["best"]] == [20, 40]


def test_jobs_queued_when_the_broker_loses_its_data_still_run(
        client: FlaskClient, env: dict[str, str], settings: Settings, backend: Backend, tmp_path: Path) -> None:
    env = env | FAST_LEASES
    version = publish_tiny_generator(settings, "cats")
    jobs = [submit(client, {"type": "generate", "model_version": version, "count": 8, "seed": i})["id"]
            for i in range(5)]
    assert set(jobs) <= queued_job_ids(make_celery(settings))
    restarted = _restart_broker_empty(backend)
    try:
        assert queued_job_ids(make_celery(settings)) == set()
        with sweeper_process(env, tmp_path / "sweeper.log"), worker_process(env, tmp_path / "worker.log"):
            done = [wait_for(client, job_id, finished, timeout=120) for job_id in jobs]
    finally:
        if restarted is not None:
            stop_embedded_redis(restarted)
    assert [j["status"] for j in done] == ["succeeded"] * 5
    assert "resent_queued" in (tmp_path / "sweeper.log").read_text()


def _restart_broker_empty(backend: Backend) -> subprocess.Popen[bytes] | None:
    """Restart Redis without its data: the embedded one for real, the server by flushing its database."""
    if backend.redis_url.startswith("redis+socket://"):
        socket_path = Path(backend.redis_url.removeprefix("redis+socket://"))
        client = redis.Redis(unix_socket_path=str(socket_path))
        pid = client.info()["process_id"]
        client.close()
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        socket_path.unlink(missing_ok=True)
        return start_embedded_redis(socket_path, socket_path.parent / "redis-restarted")
    client = redis.Redis.from_url(backend.redis_url)
    client.flushdb()
    client.close()
    return None


@pytest.mark.parametrize("backend", ["server"], indirect=True)
def test_dropped_database_connections_do_not_fail_a_running_job(
        client: FlaskClient, env: dict[str, str], backend: Backend, tmp_path: Path) -> None:
    job = _train(client, images=TRAINED_160, epochs=3, name="steady")
    admin = create_engine(backend.database_url, isolation_level="AUTOCOMMIT")
    killed = 0
    with worker_process(env, tmp_path / "worker.log"):
        wait_for(client, job["id"], lambda j: (j["progress"].get("step") or 0) > 2)
        for _ in range(4):
            with admin.connect() as conn:
                killed += conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar() or 0
            time.sleep(1.0)
        done = wait_for(client, job["id"], finished)
    admin.dispose()
    assert killed > 0
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"]["step"] == 60
