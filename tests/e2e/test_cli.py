"""The README's main command and `catgan up`, run as a user would: real processes over HTTP."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests
from PIL import Image

from core.embedded_redis import is_alive

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
    return env | {"CATGAN_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2", "CATGAN_PROGRESS_INTERVAL_SECONDS": "0.5"}


def test_quickstart_trains_generates_and_saves_cats(cat_faces: Path, short_tmp: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "catgan.cli", "quickstart", "--images", str(cat_faces), "--minutes", "0.25",
         "--count", "16", "--out", str(out), "--port", str(_free_port())],
        env=_env(short_tmp / "home"), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cats.zip" in result.stdout
    with zipfile.ZipFile(out / "cats.zip") as zf:
        names = [n for n in zf.namelist() if n.startswith("cat-")]
        assert len(names) == 16 and {"manifest.jsonl", "grid.png"} <= set(zf.namelist())
        image = Image.open(io.BytesIO(zf.read(names[0])))
        assert (image.format, image.size) == ("PNG", (32, 32))  # the 5-minute CPU default
    with Image.open(out / "cats-grid.png") as grid:
        assert grid.size == (512, 512)  # 16 cats on a 4x4 sheet, enlarged x4 (nearest) for viewing
    assert not is_alive(short_tmp / "home" / "redis.sock"), "the embedded Redis must be stopped"
    worker_log = (short_tmp / "home" / "logs" / "worker.log").read_text()
    assert "through TF Serving at 127.0.0.1:" in worker_log, "embedded mode generates through catgan serving"


def test_up_serves_and_stops_cleanly_on_sigterm(short_tmp: Path) -> None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "catgan.cli", "up", "--port", str(port)],
                               env=_env(short_tmp / "home"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.stdout.read().decode() if process.stdout else ""
        if process.stdout:
            process.stdout.close()
    assert "stopping" in output, output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not is_alive(short_tmp / "home" / "redis.sock")
