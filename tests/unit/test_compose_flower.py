"""Flower in the GPU compose file: reachable from its host only, and never without basic auth.

The start script is taken from the YAML and run by a real `sh`, with a stand-in `celery` on PATH that
prints what Flower would have been given.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_compose import ROOT, _config, _services

SECRET = "flower_basic_auth"


def _host_ips(service: dict) -> list[str]:
    """The host address each published port binds ("" for every interface)."""
    ips = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ips.append(str(entry.get("host_ip", "")))
        else:
            parts = str(entry).rsplit(":", 2)
            ips.append(parts[0] if len(parts) == 3 else "")
    return ips


def _start_script() -> str:
    """Flower's `sh -ec` script as the container's shell sees it (compose turns `$$` into `$`)."""
    command = _services()["flower"]["command"]
    assert command[:2] == ["sh", "-ec"], "the secret is read by a shell wrapper"
    return command[2].replace("$$", "$")


def _run(script: str, secret: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    celery = bin_dir / "celery"
    celery.write_text('#!/bin/sh\nprintf "auth=%s args=%s\\n" "$FLOWER_BASIC_AUTH" "$*"\n')
    celery.chmod(celery.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    script = script.replace("/run/secrets/" + SECRET, str(secret))
    return subprocess.run(["sh", "-ec", script], env=env, capture_output=True, text=True, timeout=30)


def test_flower_is_published_on_the_hosts_loopback_only() -> None:
    ips = _host_ips(_services()["flower"])
    assert ips and all(ip == "127.0.0.1" for ip in ips), f"flower must not listen on 0.0.0.0: {ips}"


def test_flower_reads_its_basic_auth_from_a_compose_secret_file() -> None:
    flower, config = _services()["flower"], _config()
    assert SECRET in flower["secrets"]
    assert config["secrets"][SECRET]["file"] == "./secrets/flower_basic_auth"
    assert "FLOWER_BASIC_AUTH" not in flower.get("environment", {})  # not visible in `docker inspect`
    assert not (ROOT / "secrets" / "flower_basic_auth").exists(), "a real secret must not be in the repository"


def test_flower_starts_with_the_secrets_credentials(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("admin:s3cret\n")
    result = _run(_start_script(), secret, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "auth=admin:s3cret args=-A worker.app flower --port=5555\n"


@pytest.mark.parametrize("content", ["", "\n", "admin\n", "admin:\n", ":s3cret\n"])
def test_flower_refuses_to_start_without_a_user_and_password(tmp_path: Path, content: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text(content)
    result = _run(_start_script(), secret, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "must hold user:password" in result.stderr


def test_flower_refuses_to_start_without_the_secret_file(tmp_path: Path) -> None:
    result = _run(_start_script(), tmp_path / "missing", tmp_path)
    assert result.returncode != 0 and result.stdout == ""
