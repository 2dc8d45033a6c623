"""A pickled message pushed straight into Redis is refused by a real worker, which then goes on working.

The broker is the one input the API does not guard: anyone who can reach Redis can push a message. The
workers accept JSON only (`accept_content=["json"]` in core.queue), so a pickle — which would run code the
moment it is loaded — is never loaded.
"""

from __future__ import annotations

import os
import pickle
import time
import uuid
from pathlib import Path

import kombu
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Job
from core.queue import QUEUE_TRAIN, TASK_TRAIN
from core.settings import Settings
from tests.support.backends import worker_process
from tests.support.jobs import wait_for
from tests.support.models import publish_tiny_generator

pytestmark = pytest.mark.slow


class Payload:
    """Unpickling this creates `marker`: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def _publish_pickled_task(settings: Settings, job_id: int, marker: Path) -> None:
    """A Celery protocol-2 `gan.train` message, pickle-serialized, sent the way Celery would route it."""
    task_id = str(uuid.uuid4())
    headers = {"lang": "py", "task": TASK_TRAIN, "id": task_id, "root_id": task_id, "parent_id": None,
               "group": None, "retries": 0, "eta": None, "expires": None, "timelimit": [None, None],
               "argsrepr": f"[{job_id}]", "kwargsrepr": "{}", "origin": "attacker@nowhere", "ignore_result": True}
    body = ([job_id, Payload(marker)], {"payload": Payload(marker)},
            {"callbacks": None, "errbacks": None, "chain": None, "chord": None})
    queue = kombu.Queue(QUEUE_TRAIN)
    with kombu.Connection(settings.broker_url) as connection:
        producer = connection.Producer(serializer="pickle")
        producer.publish(body, exchange=queue.exchange, routing_key=QUEUE_TRAIN, declare=[queue], headers=headers,
                         retry=True)


def _job_rows(sessions: sessionmaker[Session]) -> list[tuple]:
    with sessions() as session:
        return [(j.id, j.status, j.attempts, j.lease_holder, j.started_at, j.finished_at, j.error)
                for j in session.scalars(select(Job).order_by(Job.id))]


def _wait_for_log(log: Path, needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not in the worker log after {timeout} s:\n{log.read_text(errors='replace')}")


def test_a_pickled_message_is_refused_and_the_worker_keeps_working(
        client: FlaskClient, settings: Settings, env: dict[str, str], sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    marker, control = tmp_path / "pickle-was-loaded", tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control)))  # the payload works: loading it runs its command
    assert control.exists()
    with sessions() as session, session.begin():  # a queued job the message names: it must stay untouched
        session.add(job := Job(type="train", model="dcgan", params={}))
        session.flush()
        job_id = job.id
    before = _job_rows(sessions)
    log = tmp_path / "worker.log"
    with worker_process(env, log) as worker:
        _publish_pickled_task(settings, job_id, marker)
        text = _wait_for_log(log, "ContentDisallowed", timeout=30)
        assert "Refusing to deserialize untrusted content of type pickle" in text
        time.sleep(2)  # time enough to do anything else it was going to do with the message
        assert not marker.exists()
        assert worker.poll() is None, text
        assert _job_rows(sessions) == before
        assert "The message has been ignored and discarded" in text  # acknowledged: not redelivered forever

        # still alive and well: a normal job runs to the end
        version = publish_tiny_generator(settings, "cats")
        response = client.post("/v1/jobs", json={"type": "generate", "model_version": version, "count": 8})
        assert response.status_code == 202, response.get_json()
        done = wait_for(client, response.get_json()["id"])
        assert done["status"] == "succeeded", done["error"]
        assert worker.poll() is None

    assert not marker.exists()
    assert _job_rows(sessions)[0] == before[0]
    # the refused message is gone from the queue, not waiting to be refused again
    with kombu.Connection(settings.broker_url) as connection:
        assert kombu.Queue(QUEUE_TRAIN, channel=connection.default_channel).queue_declare().message_count == 0
