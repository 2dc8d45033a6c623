"""Webhooks end to end: a real API, train worker and webhook delivery worker send a real job's state changes to a
receiver on 127.0.0.1 that answers 500 twice, then 200; each message arrives three times under one webhook-id, later
retries waiting longer, signed so that standardwebhooks verifies it, every attempt listed on the job."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

from catgan.client import CatganClient
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_database
from tests.support.auth import make_token
from tests.support.backends import api_process, embedded_backend, free_port, settings_env, settings_from_env, worker_process
from tests.support.images import write_images
from tests.support.receiver import Received, Receiver, receiver

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 50, "seed": 1, "epochs": 1}


def _messages(hook: Receiver) -> dict[str, list[Received]]:
    grouped: dict[str, list[Received]] = defaultdict(list)
    with hook.lock:
        for request in hook.requests:
            grouped[request.headers["webhook-id"]].append(request)
    return grouped


def _wait_for_succeeded_delivered(hook: Receiver, timeout: float = 60) -> dict[str, list[Received]]:
    """The requests by webhook-id once every message got its 200 and the `succeeded` one is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        grouped = _messages(hook)
        done = all(r[-1].answered == 200 for r in grouped.values())
        statuses = {json.loads(r[0].body)["data"]["status"] for r in grouped.values()}
        if done and "succeeded" in statuses:
            return grouped
        time.sleep(0.1)
    raise AssertionError(f"deliveries incomplete after {timeout} s: {hook.requests}")


def test_a_jobs_state_changes_arrive_signed_after_two_500s_with_growing_delays() -> None:
    root = Path(tempfile.mkdtemp(prefix="cg-hooks-", dir="/tmp"))
    try:
        with receiver(failures=2) as hook, embedded_backend(root) as backend:
            env = settings_env(root / "home", backend, webhook_allowed_hosts=f"127.0.0.1:{hook.port}",
                               webhook_backoff_seconds="1", webhook_max_attempts="4")
            settings = settings_from_env(env)
            upgrade_database(settings)
            engine = make_engine(settings)
            token = make_token(make_session_factory(engine))
            engine.dispose()
            port, folder = free_port(), root / "cats"
            write_images(folder, count=16, size=40)
            with api_process(env, root / "api.log", port), worker_process(env, root / "worker.log", queues="train"), \
                    worker_process(env, root / "hooks.log", queues="webhooks"):
                url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
                client = CatganClient(url, token=token)
                secret = requests.get(f"{url}/v1/webhooks/secret", headers=auth, timeout=10).json()["secret"]
                dataset = client.upload_folder(folder, name="hooked")
                job = client.submit({"type": "train", "model": "dcgan", "dataset": dataset["id"], "params": TINY,
                                     "webhook": {"url": hook.url, "events": ["status"]}})
                assert client.wait(job["id"], timeout=300)["status"] == "succeeded"
                grouped = _wait_for_succeeded_delivered(hook)
                deliveries = requests.get(f"{url}/v1/jobs/{job['id']}/webhook-deliveries", headers=auth,
                                          timeout=10).json()["items"]
        _check(grouped, deliveries, secret, job["id"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check(grouped: dict[str, list[Received]], deliveries: list[dict], secret: str, job_id: int) -> None:
    """Three attempts per message (500, 500, 200), one body, growing delays, each verified; all recorded."""
    statuses = []
    for message_id, attempts in grouped.items():
        assert [a.answered for a in attempts] == [500, 500, 200], message_id
        assert len({a.body for a in attempts}) == 1 and len({a.headers["webhook-timestamp"] for a in attempts}) >= 1
        first, second = attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at
        assert 0.9 <= first < second, (first, second)  # 1 s, then 2 s
        payloads = [Webhook(secret).verify(a.body, a.headers) for a in attempts]
        assert payloads[0]["type"] == "status" and payloads[0]["data"]["id"] == job_id
        statuses.append((attempts[0].at, payloads[0]["data"]["status"], payloads[0]["data"]["previous"]))
    assert [s[1:] for s in sorted(statuses)][-2:] == [("running", "queued"), ("succeeded", "running")]
    recorded: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for item in deliveries:
        recorded[item["message_id"]].append((item["attempt"], item["status_code"]))
    assert recorded == {m: [(1, 500), (2, 500), (3, 200)] for m in grouped}
