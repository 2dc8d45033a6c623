"""A throwaway deployment for the bench: embedded Redis, SQLite, the API under gunicorn and a real worker.

The same pieces `catgan up` runs (tests/support/backends.py starts them the same way for the tests), on a
temporary CATGAN_HOME, started before any clock runs and torn down after.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import ROOT

API_WORKERS = 2  # gunicorn processes; the compose file runs 4 on bigger hosts
REQUEST_THREADS = 8  # catgan.gunicorn_conf.REQUEST_THREADS
TERMINAL = {"succeeded", "failed", "cancelled"}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Http:
    """A keep-alive JSON client of one server (http.client: no dependency, little overhead per request)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 60) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request (retrying once on a dropped keep-alive connection); (status, JSON body or None)."""
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {self.token}"}
                                                           if self.token else {})
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw[:1] in (b"{", b"[") else None
            except (http.client.HTTPException, ConnectionError, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The body of a 2xx answer; RuntimeError with the body otherwise."""
        status, answer = self.request(method, path, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} -> {status}: {answer}")
        return answer

    def wait_job(self, job_id: int, until: set[str] = TERMINAL, timeout: float = 1800, poll: float = 0.5) -> Any:
        """Poll the job until its status is in `until`; its last state."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.ok("GET", f"/v1/jobs/{job_id}")
            if job["status"] in until:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
            time.sleep(poll)


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    """Return once something answers HTTP on the port; RuntimeError with the log if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            Http(port).request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{process.args} not listening after {timeout} s:\n{log.read_text(errors='replace')}")


def wait_text(log: Path, needle: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Return once `needle` appears in the log; RuntimeError if the process died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    raise TimeoutError(f"{process.args}: no {needle!r} after {timeout} s:\n{log.read_text(errors='replace')}")


@contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session (so its pool children go with it), stopped with SIGTERM, then SIGKILL."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=dict(os.environ) | env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        try:
            os.killpg(process.pid, signal.SIGKILL)  # a pool child left behind
        except ProcessLookupError:
            pass


def gunicorn_args(app: str, port: int, catgan_conf: bool) -> list[str]:
    """gunicorn serving `app` on loopback, gthread with the API's threads; catgan's config file when asked."""
    threads = ["--worker-class", "gthread", "--threads", str(_api_threads())]
    conf = ["--config", "python:catgan.gunicorn_conf"] if catgan_conf else []
    return [sys.executable, "-m", "gunicorn", *conf, *threads, "--bind", f"127.0.0.1:{port}",
            "--workers", str(API_WORKERS), "--timeout", "120", app]


def _api_threads() -> int:
    """catgan.gunicorn_conf's threads (importing it would export a metrics directory into this process)."""
    from core.settings import Settings

    return Settings().events_max_streams + REQUEST_THREADS


@dataclass
class Deployment:
    """Where everything runs: home, environment (CATGAN_*), the API port and an admin client."""

    home: Path
    env: dict[str, str]
    port: int = 0
    token: str = ""
    stack: ExitStack = field(default_factory=ExitStack)

    def client(self) -> Http:
        return Http(self.port, self.token)

    def settings(self) -> Any:
        from core.settings import Settings

        return Settings(**{k.removeprefix("CATGAN_").lower(): v for k, v in self.env.items()})


def deployment_env(home: Path, redis_socket: Path, extra: dict[str, str]) -> dict[str, str]:
    """CATGAN_* for a deployment on `home`: SQLite, the embedded Redis, a rate limit no bench reaches."""
    values = {"home": str(home), "database_url": f"sqlite:///{home / 'catgan.db'}",
              "redis_url": f"redis+socket://{redis_socket}", "log_level": "WARNING",
              "rate_limit": "10000000 per minute", "model_repository": str(home / "models")} | extra
    return {f"CATGAN_{k.upper()}": v for k, v in values.items()} | {"TF_CPP_MIN_LOG_LEVEL": "2"}


@contextmanager
def deployment(extra: dict[str, str] | None = None, worker: bool = True) -> Iterator[Deployment]:
    """Start Redis, migrate, start the API (gunicorn) and, if asked, a worker; an admin key for the bench."""
    from core.embedded_redis import start_embedded_redis, stop_embedded_redis
    from core.migrate import upgrade_database

    root = Path(tempfile.mkdtemp(prefix="catgan-bench-", dir="/tmp"))  # short: a Unix socket path lives here
    home = root / "home"
    deploy = Deployment(home, deployment_env(home, root / "r.sock", extra or {}))
    try:
        with deploy.stack:
            redis = start_embedded_redis(root / "r.sock", root / "redis")
            deploy.stack.callback(stop_embedded_redis, redis)
            settings = deploy.settings()
            settings.ensure_directories()
            upgrade_database(settings)
            deploy.token = admin_token(settings)
            deploy.port = free_port()
            log = root / "api.log"
            api = deploy.stack.enter_context(started(gunicorn_args("catgan.wsgi:app", deploy.port, True),
                                                     deploy.env, log))
            wait_listening(deploy.port, api, log)
            if worker:
                start_worker(deploy, root / "worker.log")
            yield deploy
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_worker(deploy: Deployment, log: Path) -> None:
    """A real `catgan worker` on the train and generate queues, ready before this returns."""
    process = deploy.stack.enter_context(started([sys.executable, "-m", "catgan.cli", "worker", "--queues",
                                                  "train,generate"],
                                                 deploy.env | {"PYTHONUNBUFFERED": "1", "CATGAN_LOG_LEVEL": "INFO"},
                                                 log))  # INFO: Celery says "ready." at that level
    wait_text(log, "ready.", process)


def admin_token(settings: Any) -> str:
    """A new admin key's token (server-side folders need one)."""
    from core.db import make_engine, make_session_factory, session_scope
    from core.services import keys

    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return keys.create_key(session=session, owner="bench", admin=True)[1]
    finally:
        engine.dispose()


def register_folder(client: Http, path: Path) -> int:
    """Register an image folder as a dataset; its id."""
    return int(client.ok("POST", "/v1/datasets", {"name": path.name, "path": str(path)})["id"])
