"""Submitting jobs and waiting on them over the API, for the tests that run real workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

TERMINAL = {"succeeded", "failed", "cancelled"}


def finished(job: dict[str, Any]) -> bool:
    """Whether the job has ended, however it ended."""
    return job["status"] in TERMINAL


def submit(client: FlaskClient, body: dict[str, Any], status: int = 202) -> dict[str, Any]:
    """POST a job, asserting the status; the response body."""
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def wait_for(client: FlaskClient, job_id: int, until: Callable[[dict[str, Any]], bool] = finished,
             timeout: float = 240) -> dict[str, Any]:
    """Poll the job until `until(job)`; fail with its last state after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")
        time.sleep(0.05)


def _all_pages(client: FlaskClient, path: str, **query: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        response = client.get(path, query_string=query | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


def all_artifacts(client: FlaskClient, job_id: int, *, kind: str | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
    """Every artifact of the job (of `kind`, if given), oldest first, through the paged endpoint."""
    return _all_pages(client, f"/v1/jobs/{job_id}/artifacts", limit=limit, **({"kind": kind} if kind else {}))


def all_checkpoints(client: FlaskClient, job_id: int, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Every checkpoint of the job, oldest first, through the paged endpoint."""
    return _all_pages(client, f"/v1/jobs/{job_id}/checkpoints", limit=limit)
