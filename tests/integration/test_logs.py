"""Structured logs: a real worker's JSON lines carry the id of the job they are about, an API request's its id;
and /metrics follows that job through the queue, the worker and its end."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.logs import configure_logging
from core.settings import Settings
from tests.integration.test_metrics import model_version_row, scrape, value
from tests.support.backends import worker_process
from tests.support.jobs import finished, submit, wait_for


def json_lines(text: str) -> list[dict]:
    """The JSON objects among a process's output lines (Celery's start banner is plain print)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


@pytest.mark.slow
def test_a_workers_lines_carry_the_job_id_and_metrics_follow_the_job(
        client: FlaskClient, env: dict[str, str], sessions: sessionmaker[Session], tmp_path: Path) -> None:
    version = model_version_row(sessions, "log-cats")  # no export on disk: the worker fails the job at once
    job = submit(client, {"type": "generate", "model_version": version, "count": 10})["id"]
    queued = scrape(client)
    assert value(queued, "catgan_jobs", type="generate", status="queued") == 1
    assert value(queued, "catgan_queue_depth", queue="generate") == 1
    log = tmp_path / "worker.log"
    with worker_process(env, log):  # CATGAN_LOG_FORMAT unset: auto, and a log file is no terminal → JSON
        done = wait_for(client, job, finished, timeout=60)
    assert done["status"] == "failed" and "export is missing" in done["error"]
    ended = scrape(client)
    assert value(ended, "catgan_jobs", type="generate", status="queued") == 0
    assert value(ended, "catgan_jobs", type="generate", status="failed") == 1
    assert value(ended, "catgan_queue_depth", queue="generate") == 0
    assert value(ended, "catgan_job_duration_seconds_count", type="generate", status="failed") == 1

    records = json_lines(log.read_text())
    assert any("ready." in r["message"] for r in records)  # Celery's own lines are JSON too
    about_job = [r for r in records if f"job {job}" in r["message"]]
    assert about_job and all(r.get("job_id") == job for r in about_job), about_job
    [failure] = [r for r in about_job if "failed" in r["message"]]
    assert failure["level"] == "WARNING" and "export is missing" in failure["message"]
    assert {"time", "logger"} <= failure.keys()


@pytest.fixture
def logged(app: Flask) -> Iterator[io.StringIO]:
    """The app's log lines as JSON, into a buffer; a route that logs one line."""
    stream, root = io.StringIO(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(Settings(log_format="json"), stream)

    def noisy() -> dict:
        logging.getLogger("api.test").info("serving a noisy request")
        return {"ok": True}

    app.add_url_rule("/test-noisy", view_func=noisy)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_an_api_requests_lines_carry_its_request_id(app: Flask, logged: io.StringIO) -> None:
    http = app.test_client()
    given = http.get("/test-noisy", headers={"X-Request-ID": "req-42"})
    made = http.get("/test-noisy")
    assert given.headers["X-Request-ID"] == "req-42"
    lines = [r for r in json_lines(logged.getvalue()) if r["message"] == "serving a noisy request"]
    assert [r["request_id"] for r in lines] == ["req-42", made.headers["X-Request-ID"]]
    assert all("job_id" not in r for r in lines)
    logging.getLogger("api.test").info("outside any request")
    assert "request_id" not in json_lines(logged.getvalue())[-1]
