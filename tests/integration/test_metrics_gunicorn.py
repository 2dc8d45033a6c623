"""/metrics under a real gunicorn with two worker processes (catgan.gunicorn_conf): every request is counted,
whichever process served it and whichever process answers the scrape."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core.migrate import upgrade_database
from tests.support.backends import embedded_backend, free_port, settings_env, settings_from_env

pytestmark = pytest.mark.slow  # two server processes importing the app: ~10-20 s on a busy machine

REQUESTS = 40


@pytest.fixture
def gunicorn(short_tmp: Path) -> Iterator[tuple[str, Path, Path]]:
    """gunicorn with two sync workers (one request at a time each) on a free port; its base URL, metrics directory and log."""
    port, metrics_dir, log = free_port(), short_tmp / "prom", short_tmp / "gunicorn.log"
    with embedded_backend(short_tmp) as backend:
        env = settings_env(short_tmp / "home", backend, auth="off")
        upgrade_database(settings_from_env(env))
        full_env = dict(os.environ) | env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:catgan.gunicorn_conf", "--workers", "2",
                 "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "catgan.wsgi:app"],
                env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_both_serve(url, metrics_dir, process, log)
            yield url, metrics_dir, log
        finally:
            process.terminate()
            process.wait(30)


def _wait_until_both_serve(url: str, metrics_dir: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if log.read_text().count("Booting worker") >= 2:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not come up:\n{log.read_text()}")


def _healthz_count(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name == "catgan_http_request_duration_seconds_count"
                    and sample.labels == {"route": "/healthz", "method": "GET", "status": "200"}):
                return sample.value
    return 0.0


def test_requests_served_by_both_processes_are_all_counted(gunicorn: tuple[str, Path, Path]) -> None:
    url, metrics_dir, log = gunicorn
    before = _healthz_count(url)

    def hit(i: int) -> str:
        with requests.get(f"{url}/healthz", headers={"Connection": "close", "X-Request-ID": f"g-{i}"},
                          timeout=10) as response:
            assert response.status_code == 200
            return response.headers["X-Request-ID"]

    # a sync worker reading a request whose headers have not all come is busy: the other one serves the rest
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as held:
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        time.sleep(0.5)
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(hit, range(1, REQUESTS)))
        held.sendall(b"X-Request-ID: g-0\r\nConnection: close\r\n\r\n")
        answer = held.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 200") and "X-Request-ID: g-0" in answer
    assert ids == [f"g-{i}" for i in range(1, REQUESTS)]
    # the latencies live in one file per server process: both processes served some of the requests
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2
    counts = {_healthz_count(url) for _ in range(6)}  # scrapes answered by either process
    assert counts == {before + REQUESTS}
    access = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")
              and "GET /healthz" in line]
    assert {"request_id=g-0", "request_id=g-39"} <= {r["message"].rsplit(" ", 1)[-1] for r in access}
