"""docker-compose.gpu.yml runs webhook deliveries in a light worker of their own, and every process sees the allow-list."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.gpu.yml"


def test_webhooks_have_their_own_light_worker_and_every_catgan_process_the_allow_list() -> None:
    config = yaml.safe_load(COMPOSE.read_text())
    services = config["services"]
    worker = services["worker-webhooks"]
    assert worker["command"] == ["catgan", "worker", "--queues", "webhooks", "--name", "webhooks@%h"]
    assert "deploy" not in worker and "ports" not in worker  # no GPU, nothing published
    assert "--destination webhooks@$$HOSTNAME" in worker["healthcheck"]["test"][1]
    assert worker["restart"] == "unless-stopped"
    assert config["x-catgan-env"]["CATGAN_WEBHOOK_ALLOWED_HOSTS"] == "${CATGAN_WEBHOOK_ALLOWED_HOSTS:-}"
    for name in ("api", "worker-train", "worker-generate", "sweeper", "worker-webhooks"):
        assert "CATGAN_WEBHOOK_ALLOWED_HOSTS" in services[name]["environment"], name
