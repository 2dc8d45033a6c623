"""Run the whole service on one machine: embedded Redis, migrations, the API, `catgan serving`, a worker and
the sweeper."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from catgan.localkey import ensure_local_key
from core.embedded_redis import start_embedded_redis, stop_embedded_redis
from core.migrate import upgrade_database
from core.queue import QUEUE_WEBHOOKS
from core.settings import Settings


def serving_target(bind: str) -> str:
    """The address a client on this machine reaches a server bound to `bind` at (any interface: loopback)."""
    host, port = bind.rsplit(":", 1)
    wildcard = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}
    return f"{wildcard.get(host, host)}:{port}"


class LocalStack:
    """Starts and stops the parts as child processes; the parent never imports TensorFlow."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000,
                 queues: str = "train,generate", log_dir: Path | None = None) -> None:
        self.settings, self.host, self.port, self.queues = settings, host, port, queues
        self.log_dir = log_dir or settings.home / "logs"
        self.redis: subprocess.Popen[bytes] | None = None
        self.serving_address: str | None = None
        self.children: list[subprocess.Popen[bytes]] = []
        self.token: str | None = None  # the local owner's API key (None with CATGAN_AUTH=off)
        self.token_created = False  # made at this start: `catgan up` shows it once

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CATGAN_HOME"] = str(self.settings.home)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if self.serving_address:
            env |= {"CATGAN_GENERATOR_BACKEND": "tfserving", "CATGAN_SERVING_ADDRESS": self.serving_address}
        return env

    def _serving_bind(self) -> str | None:
        """Where this stack's own `catgan serving` listens; None when the backend was chosen explicitly.

        Unless told otherwise, generation goes through the TF Serving API as in production, served by
        `catgan serving` on CATGAN_SERVING_BIND, or on a free port of that interface if that one is taken.
        """
        if "generator_backend" in self.settings.model_fields_set:
            return None
        host, port = self.settings.serving_bind.rsplit(":", 1)
        target = serving_target(self.settings.serving_bind).rsplit(":", 1)[0].strip("[]")
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        with socket.socket(family) as sock:
            if sock.connect_ex((target, int(port))) != 0:
                return self.settings.serving_bind
        with socket.socket(family) as sock:
            sock.bind((host.strip("[]"), 0))
            return f"{host}:{sock.getsockname()[1]}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "catgan.cli", *args], env=self._env(),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.children.append(process)
        return process

    def start(self, timeout: float = 60.0) -> None:
        """Bring everything up and wait until the API is ready."""
        self.settings.ensure_directories()
        if self.settings.uses_embedded_redis:
            self.redis = start_embedded_redis(self.settings.embedded_redis_socket, self.settings.home / "redis")
        upgrade_database(self.settings)
        if self.settings.auth == "on":
            self.token, self.token_created = ensure_local_key(self.settings)
        bind = self._serving_bind()
        if bind:
            self.serving_address = serving_target(bind)  # what this stack's workers call
            self._spawn("serving", "serving", "--bind", bind)
        self._spawn("api", "api", "--host", self.host, "--port", str(self.port))
        self._spawn("worker", "worker", "--queues", self.queues)
        if self.settings.webhook_allowed_hosts.strip():  # webhook deliveries: a light process of their own
            self._spawn("webhooks", "worker", "--queues", QUEUE_WEBHOOKS, "--name", "webhooks@%h")
        self._spawn("sweeper", "sweeper")
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in self.children:
                if child.poll() is not None:
                    raise RuntimeError(f"a service process exited early; see the logs in {self.log_dir}")
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API at {self.url} was not ready within {timeout} s; see {self.log_dir}")

    def alive(self) -> bool:
        return all(child.poll() is None for child in self.children)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the children (SIGTERM, then SIGKILL once `timeout` has passed for all of them), then Redis."""
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children.clear()
        if self.redis is not None:
            stop_embedded_redis(self.redis)
            self.redis = None

    def __enter__(self) -> "LocalStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
