"""`catgan serving` listens on CATGAN_SERVING_BIND; clients call CATGAN_SERVING_ADDRESS; they are not one setting.

A real `catgan serving` process on a free port, called by the generate workers' own TF Serving backend.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catgan.stack import LocalStack, serving_target
from core.settings import Settings
from serving.backends import TFServingBackend
from serving.tfserving import ServingError
from tests.support.backends import free_port, kill_group

READY_TEXT = "serving "


@contextmanager
def serving_cli(env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """`catgan serving` with no flags, configured by `env` alone; yields its log once it listens."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_SERVING_")}
    full_env = inherited | env | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "catgan.cli", "serving"], env=full_env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while READY_TEXT not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"not listening after {timeout} s: {log.read_text()}"
            time.sleep(0.1)
        yield log.read_text(errors="replace")
    finally:
        process.terminate()
        process.wait(30)
        kill_group(process)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(address: str) -> str:
    """The gRPC status the server at `address` gives a status request for a model it does not have."""
    backend = TFServingBackend(Settings(serving_address=address, serving_retries=0, serving_timeout_seconds=5))
    try:
        backend.client.model_status("no-such-model")
    except ServingError as exc:
        return exc.code.name if exc.code else str(exc)
    finally:
        backend.close()
    return "OK"


def test_catgan_serving_listens_on_the_bind_setting_not_the_clients_address(tmp_path: Path) -> None:
    bind_port, address_port = free_port(), free_port()
    assert bind_port != address_port
    env = {"CATGAN_HOME": str(tmp_path / "home"), "CATGAN_SERVING_BIND": f"127.0.0.1:{bind_port}",
           "CATGAN_SERVING_ADDRESS": f"127.0.0.1:{address_port}"}  # a client's target, meaningless here
    with serving_cli(env, tmp_path / "serving.log") as log:
        assert f"on 127.0.0.1:{bind_port}" in log
        assert "no authentication" not in log  # loopback: no warning
        assert _listening(bind_port) and not _listening(address_port)
        # a worker whose CATGAN_SERVING_ADDRESS names the bound port reaches it: the server answers
        assert _answers(f"127.0.0.1:{bind_port}") == "NOT_FOUND"


def test_binding_every_interface_warns_that_the_port_has_no_auth(tmp_path: Path) -> None:
    port = free_port()
    env = {"CATGAN_HOME": str(tmp_path / "home"), "CATGAN_SERVING_BIND": f"0.0.0.0:{port}"}
    with serving_cli(env, tmp_path / "serving.log") as log:
        assert f"on 0.0.0.0:{port}" in log
        assert "has no authentication: keep that interface on a private network" in log
        assert _answers(serving_target(f"0.0.0.0:{port}")) == "NOT_FOUND"


def test_serving_target_maps_any_interface_to_loopback() -> None:
    assert serving_target("0.0.0.0:8500") == "127.0.0.1:8500"
    assert serving_target("[::]:8500") == "[::1]:8500"
    assert serving_target("10.0.0.5:8500") == "10.0.0.5:8500"


def test_the_local_stack_binds_the_bind_setting_or_a_free_port_beside_it(tmp_path: Path) -> None:
    port = free_port()
    stack = LocalStack(Settings(home=tmp_path, serving_bind=f"127.0.0.1:{port}", serving_address="10.9.9.9:1"))
    assert stack._serving_bind() == f"127.0.0.1:{port}"  # not the client's address
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        moved = stack._serving_bind()
    assert moved is not None and moved.startswith("127.0.0.1:") and moved != f"127.0.0.1:{port}"


def test_the_local_stack_runs_no_serving_when_the_backend_is_chosen(tmp_path: Path) -> None:
    assert LocalStack(Settings(home=tmp_path, generator_backend="local"))._serving_bind() is None
