"""Many clients at once against a real API process: every job accounted for, every state legal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Job
from core.queue import make_celery
from core.settings import Settings
from core.sweeper import queued_job_ids
from tests.support.auth import make_token
from tests.support.backends import api_process, free_port
from tests.support.models import publish_tiny_generator

pytestmark = pytest.mark.slow


def test_fifty_submissions_and_twenty_cancels_at_once(env: dict[str, str], settings: Settings,
                                                       sessions: sessionmaker[Session], tmp_path: Path) -> None:
    version = publish_tiny_generator(settings, "cats")
    headers = {"Authorization": f"Bearer {make_token(sessions)}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = env | {"CATGAN_QUOTA_CONCURRENT_JOBS": "100"}
    with api_process(env, tmp_path / "api.log", port), requests.Session() as http, \
            ThreadPoolExecutor(max_workers=16) as pool:
        def submit(seed: int) -> requests.Response:
            body = {"type": "generate", "model_version": version, "count": 8, "seed": seed}
            return http.post(f"{url}/v1/jobs", json=body, headers=headers, timeout=60)

        def cancel(job_id: int) -> requests.Response:
            return http.post(f"{url}/v1/jobs/{job_id}/cancel", headers=headers, timeout=60)

        submitted = list(pool.map(submit, range(50)))
        assert [r.status_code for r in submitted] == [202] * 50, [r.text for r in submitted if r.status_code != 202]
        ids = [r.json()["id"] for r in submitted]
        doomed = ids[::5]  # ten jobs, each cancelled twice at the same time
        cancels = list(pool.map(cancel, doomed + doomed))
        assert [r.status_code for r in cancels] == [200] * 20
        assert {r.json()["status"] for r in cancels} == {"cancelled"}

    assert len(set(ids)) == 50
    with sessions() as session:
        assert session.scalar(select(func.count(Job.id))) == 50
        states = dict(session.execute(select(Job.id, Job.status)).all())
    assert {i for i, s in states.items() if s == "cancelled"} == set(doomed)
    assert {i for i, s in states.items() if s == "queued"} == set(ids) - set(doomed)
    assert set(ids) - set(doomed) <= queued_job_ids(make_celery(settings))  # each queued job has its message


def test_the_job_quota_holds_under_concurrent_submissions(env: dict[str, str], settings: Settings,
                                                          sessions: sessionmaker[Session], tmp_path: Path) -> None:
    version = publish_tiny_generator(settings, "cats")
    headers = {"Authorization": f"Bearer {make_token(sessions)}"}
    port = free_port()
    env = env | {"CATGAN_QUOTA_CONCURRENT_JOBS": "5"}
    with api_process(env, tmp_path / "api.log", port), requests.Session() as http, \
            ThreadPoolExecutor(max_workers=12) as pool:
        body = {"type": "generate", "model_version": version, "count": 8}
        statuses = list(pool.map(lambda _: http.post(f"http://127.0.0.1:{port}/v1/jobs", json=body, headers=headers,
                                                     timeout=60).status_code, range(24)))
    assert sorted(statuses) == [202] * 5 + [429] * 19
    with sessions() as session:
        assert session.scalar(select(func.count(Job.id))) == 5
