"""The GPU compose file: the services, the shared volume, GPU reservations, nothing private published."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.gpu.yml"


def _config() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_and_volumes() -> None:
    config = _config()
    assert {"redis", "postgres", "migrate", "api", "worker-train", "worker-generate"} <= set(config["services"])
    for name in ("api", "worker-train", "worker-generate", "migrate"):
        assert "catgan-data:/data" in config["services"][name]["volumes"]
    assert config["services"]["worker-train"]["command"][-1] == "train"
    assert config["services"]["worker-generate"]["command"][-1] == "generate"


def test_gpu_reservations_on_workers() -> None:
    services = _config()["services"]
    for name in ("worker-train", "worker-generate"):
        [device] = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


def test_redis_and_postgres_are_not_published() -> None:
    services = _config()["services"]
    assert "ports" not in services["redis"] and "ports" not in services["postgres"]


def _has_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="no docker compose client here; the file is checked by parsing")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
