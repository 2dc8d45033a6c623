"""Live events end to end: a real `catgan api` and worker train a tiny DCGAN while a client reads its stream over
HTTP, drops the connection midway and resumes with Last-Event-ID."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from catgan.client import CatganClient
from catgan.sse import Event, SSEParser, parse_stream
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_database
from tests.support.auth import make_token
from tests.support.backends import (
    api_process,
    embedded_backend,
    free_port,
    settings_env,
    settings_from_env,
    worker_process,
)
from tests.support.images import write_images

pytestmark = pytest.mark.slow

TINY = {"image_size": 32, "g_filters": 32, "d_filters": 8, "kernel_size": 4, "batch_size": 8, "z_dim": 16,
        "sample_every_steps": 50, "seed": 1, "epochs": 2}


@dataclass(frozen=True)
class Service:
    url: str
    token: str
    other_token: str
    root: Path

    def headers(self, token: str | None = None, last_event_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.token}", "Accept": "text/event-stream"}
        return headers | ({"Last-Event-ID": last_event_id} if last_event_id else {})


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    root = Path(tempfile.mkdtemp(prefix="cg-ev-", dir="/tmp"))
    try:
        with embedded_backend(root) as backend:
            env = settings_env(root / "home", backend, events_heartbeat_seconds="0.5")
            settings = settings_from_env(env)
            upgrade_database(settings)
            engine = make_engine(settings)
            tokens = make_token(make_session_factory(engine)), make_token(make_session_factory(engine), "bob")
            engine.dispose()
            port = free_port()
            with api_process(env, root / "api.log", port), worker_process(env, root / "worker.log"):
                yield Service(f"http://127.0.0.1:{port}", *tokens, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def read(service: Service, path: str, *, last_event_id: str | None = None, until: str | None = None,
         token: str | None = None) -> tuple[list[Event], str]:
    """Events of one connection (closed after the first `until` event, else read to the server's end), and the raw
    text seen."""
    raw: list[str] = []
    events: list[Event] = []
    with requests.get(service.url + path, headers=service.headers(token, last_event_id), stream=True,
                      timeout=(5, 120)) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
        chunks = (raw.append(c.decode()) or c for c in response.iter_content(chunk_size=None))
        for event in parse_stream(chunks, SSEParser(last_event_id=last_event_id)):
            events.append(event)
            if event.event == until:
                break  # the client drops the connection here
    return events, "".join(raw)


@dataclass(frozen=True)
class Watched:
    job_id: int
    first: list[Event]  # the first connection's events, dropped after the first progress event
    rest: list[Event]  # the second's, resumed with Last-Event-ID
    whole: list[Event]  # a third read of the finished job's whole stream
    raw: str  # the first connection's text


@pytest.fixture(scope="module")
def watched(service: Service) -> Watched:
    """A tiny train job run by the real worker, its stream read over HTTP while it runs."""
    client = CatganClient(service.url, token=service.token)
    folder = service.root / "cats"
    write_images(folder, count=40, size=40)
    dataset = client.upload_folder(folder, name="event-cats")
    job_id = client.train(dataset["id"], params=TINY)["id"]
    path = f"/v1/jobs/{job_id}/events"
    first, raw = read(service, path, last_event_id="0-0", until="progress")  # from the stream's start
    rest, _ = read(service, path, last_event_id=first[-1].id)  # resume right after the last event seen
    whole, _ = read(service, path, last_event_id="0-0")
    assert client.job(job_id)["status"] == "succeeded"
    return Watched(job_id, first, rest, whole, raw)


def test_a_client_sees_every_change_of_a_real_job_in_order(watched: Watched) -> None:
    events = watched.first + watched.rest
    statuses = [e.payload["status"] for e in events if e.event == "status"]
    assert statuses == ["queued", "running", "succeeded"], [(e.event, e.payload) for e in events]
    assert [e.event for e in events[:2]] == ["status", "status"] and events[-1].event == "status"
    assert events[-1].payload["previous"] == "running" and events[-1].payload["error"] is None
    between = [e.event for e in events[2:-1]]
    assert {"progress", "sheet", "checkpoint"} <= set(between) and "status" not in between
    assert all(e.payload["id"] == watched.job_id and e.payload["status"] == "running" for e in events[2:-1])
    steps = [e.payload["progress"]["step"] for e in events if e.event == "progress"]
    assert steps == sorted(steps) and steps[-1] == 10
    assert ": keep-alive" in watched.raw  # the worker loads TensorFlow first: idle seconds, kept alive


def test_a_dropped_connection_resumes_without_loss_or_repeats(watched: Watched) -> None:
    assert watched.first[-1].event == "progress" and watched.rest  # it really dropped midway
    assert [e.id for e in watched.first + watched.rest] == [e.id for e in watched.whole]
    assert len({e.id for e in watched.whole}) == len(watched.whole)


def test_another_owners_job_stream_is_404_over_http(service: Service, watched: Watched) -> None:
    response = requests.get(f"{service.url}/v1/jobs/{watched.job_id}/events",
                            headers=service.headers(service.other_token), timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_an_idle_owner_stream_is_kept_alive_over_http(service: Service) -> None:
    started = time.monotonic()
    with requests.get(f"{service.url}/v1/events", headers=service.headers(service.other_token), stream=True,
                      timeout=(5, 10)) as response:
        assert response.status_code == 200
        seen = ""
        for chunk in response.iter_content(chunk_size=None):
            seen += chunk.decode()
            if seen.count(": keep-alive") >= 2:
                break
    assert seen.startswith("retry: 2000\nid: 0-0\n\n") and time.monotonic() - started < 5
