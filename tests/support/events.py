"""Reading the API's server-sent events in tests: the Flask test client's streamed body, parsed as clients do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from catgan.sse import Event, SSEParser
from core.db import session_scope
from core.services import artifacts, jobs, leases
from core.settings import Settings
from core.states import JobStatus
from tests.support.http import upload
from tests.support.images import image_bytes, image_zip
from tests.support.jobs import submit

HOLDER = "test-worker"


class SSEStream:
    """An open event stream of the test client: next events, the keep-alive comments seen, and its end."""

    def __init__(self, response: TestResponse) -> None:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/event-stream"
        self.response = response
        self.parser = SSEParser()
        self.comments: list[str] = []
        self.ended = False
        self._pending: list[Event] = []
        self._chunks: Iterator[bytes] = iter(response.response)

    def next_chunk(self) -> str | None:
        """Read the next piece the server wrote (None at the end of the stream); its events wait in line."""
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.ended = True
            return None
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        self.comments += [line for line in text.splitlines() if line.startswith(":")]
        self._pending += self.parser.feed(text)
        return text

    def events(self, count: int) -> list[Event]:
        """The next `count` events (fewer if the stream ends first)."""
        while len(self._pending) < count and self.next_chunk() is not None:
            pass
        found, self._pending = self._pending[:count], self._pending[count:]
        return found

    def rest(self) -> list[Event]:
        """Every event until the server ends the stream."""
        return self.events(10**9)

    def close(self) -> None:
        self.response.close()


def open_stream(client: FlaskClient, path: str, last_event_id: str | None = None) -> SSEStream:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    return SSEStream(client.get(path, headers=headers, buffered=False))


def queued_train_job(client: FlaskClient) -> int:
    """A train job of the client's owner that stays queued (no worker): its id."""
    dataset = upload(client, image_zip(4), "cats.zip")
    assert dataset.status_code == 201, dataset.get_json()
    body = {"type": "train", "model": "dcgan", "dataset": dataset.get_json()["id"], "params": {"batch_size": 2}}
    return int(submit(client, body)["id"])


def run_like_a_worker(sessions: sessionmaker[Session], settings: Settings, job_id: int, *,
                      finish: bool = True) -> None:
    """What a worker writes for a job, each in its own transaction: claim, progress, a sheet, a checkpoint, end."""
    for write in worker_writes(settings, job_id)[: None if finish else -1]:
        with session_scope(sessions) as session:
            write(session)


def worker_writes(settings: Settings, job_id: int) -> list[Any]:
    progress = {"step": 2, "total_steps": 4, "epoch": 1, "g_loss": 1.5, "d_loss": 0.5}
    return [
        lambda s: leases.claim_job(session=s, job_id=job_id, holder=HOLDER, lease_seconds=60),
        lambda s: jobs.record_progress(session=s, job_id=job_id, progress=progress),
        lambda s: artifacts.add_artifact_bytes(session=s, settings=settings, job_id=job_id, kind="sample_grid",
                                               name="samples-step0000002.png", data=image_bytes(),
                                               content_type="image/png", info={"step": 2}),
        lambda s: artifacts.add_checkpoint(session=s, job_id=job_id, step=2, epoch=1, path="checkpoints/ckpt-2",
                                           metrics={}),
        lambda s: jobs.finish_job(session=s, job_id=job_id, status=JobStatus.SUCCEEDED, holder=HOLDER),
    ]
