"""The GPU compose file: services, GPU reservations, one data volume at one path, TF Serving wired to the
model repository and the batching file, migrations first, nothing private published.

Always checked by parsing the YAML; also by `docker compose config` where a Docker client with the compose
plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.gpu.yml"
BATCHING = ROOT / "serving" / "batching.config"

SERVICES = {"redis", "postgres", "migrate", "api", "worker-train", "worker-generate", "sweeper", "tfserving",
            "flower", "prometheus", "grafana"}
GPU_SERVICES = ("worker-train", "worker-generate", "tfserving")
# run from the catgan image
CATGAN_SERVICES = ("api", "worker-train", "worker-generate", "sweeper", "migrate", "flower")
SHARES_DATA = ("api", "worker-train", "worker-generate", "tfserving")
LONG_RUNNING = SERVICES - {"migrate"}


def _config() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _services() -> dict:
    return _config()["services"]


def _published(service: dict) -> set[int]:
    """Container ports a service publishes on the host (short "[ip:]host:container" or long syntax)."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split(":")[-1].split("/")[0]))
    return ports


def _mounts(service: dict) -> dict[str, tuple[str, bool]]:
    """Mount target → (source, read_only), for short and long volume syntax."""
    mounts = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts[entry["target"]] = (entry["source"], bool(entry.get("read_only", False)))
        else:
            source, target, *mode = entry.split(":")
            mounts[target] = (source, "ro" in (mode[0].split(",") if mode else []))
    return mounts


def _flags(command: list[str]) -> dict[str, str]:
    """`--name=value` arguments as a dict (a bare `--name` reads "true")."""
    flags = {}
    for arg in command:
        assert arg.startswith("--"), f"not a flag: {arg!r}"
        name, _, value = arg[2:].partition("=")
        flags[name] = value or "true"
    return flags


def _data_path() -> str:
    return _config()["x-catgan-env"]["CATGAN_HOME"]


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"unreadable duration {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_all_services_exist() -> None:
    assert SERVICES <= set(_services())


def test_gpu_services_reserve_an_nvidia_gpu() -> None:
    services = _services()
    for name in GPU_SERVICES:
        [device] = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia", name
        assert "gpu" in device["capabilities"], name
        assert device.get("count") == 1 or device.get("device_ids"), name


def test_only_the_api_and_flower_are_published() -> None:
    services = _services()
    for name in ("flower", "prometheus", "grafana"):
        for entry in services[name]["ports"]:
            assert str(entry).startswith("127.0.0.1:"), f"{name} is for the host's loopback only: {entry}"
    for name in ("redis", "postgres", "tfserving", "migrate", "worker-train", "worker-generate"):
        assert _published(services[name]) == set(), f"{name} must stay on the compose network"
    assert _published(services["api"]) == {8000}
    assert _published(services["flower"]) == {5555}


def test_api_runs_under_gunicorn_on_all_interfaces() -> None:
    command = _services()["api"]["command"]
    assert command[0] == "gunicorn" and command[-1] == "catgan.wsgi:app"
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert int(command[command.index("--workers") + 1]) > 1


def test_one_data_volume_at_one_path_everywhere() -> None:
    config, path = _config(), _data_path()
    sources = set()
    for name in SHARES_DATA:
        mounts = _mounts(config["services"][name])
        assert path in mounts, f"{name} does not mount the data volume at {path}"
        sources.add(mounts[path][0])
    [volume] = sources
    assert volume in config["volumes"], "the data volume must be a named volume"
    assert _mounts(config["services"]["tfserving"])[path][1], "TF Serving only reads the model repository"
    for name in ("worker-train", "worker-generate", "api", "migrate"):
        assert _mounts(config["services"][name])[path] == (volume, False), f"{name} writes to {path}"


def test_catgan_services_share_the_environment() -> None:
    config = _config()
    shared = config["x-catgan-env"]
    assert shared["CATGAN_DATABASE_URL"] == "postgresql+psycopg://catgan:catgan@postgres/catgan"
    assert shared["CATGAN_REDIS_URL"] == "redis://redis:6379/0"
    for name in CATGAN_SERVICES:
        environment = config["services"][name]["environment"]
        assert {key: environment.get(key) for key in shared} == shared, name


def test_generate_workers_call_tf_serving_on_its_grpc_port() -> None:
    services = _services()
    environment = services["worker-generate"]["environment"]
    assert environment["CATGAN_GENERATOR_BACKEND"] == "tfserving"
    host, port = environment["CATGAN_SERVING_ADDRESS"].split(":")
    assert host == "tfserving" and host in services
    assert _flags(services["tfserving"]["command"])["port"] == port == "8500"
    assert services["worker-generate"]["depends_on"]["tfserving"]["condition"] == "service_healthy"


def test_workers_consume_their_own_queue() -> None:
    services = _services()
    for name, queue in (("worker-train", "train"), ("worker-generate", "generate")):
        command = services[name]["command"]
        assert command[:2] == ["catgan", "worker"], name
        assert command[command.index("--queues") + 1] == queue, name


def test_tf_serving_reads_the_model_repository_and_the_batching_file() -> None:
    tfserving = _services()["tfserving"]
    image, _, tag = tfserving["image"].partition(":")
    assert image == "tensorflow/serving" and re.fullmatch(r"\d+\.\d+\.\d+-gpu", tag), "pin a GPU release tag"
    flags = _flags(tfserving["command"])
    repository = Settings(home=Path(_data_path()), model_repository=None).model_repository
    assert flags["model_config_file"] == str(repository / "models.config")
    assert int(flags["model_config_file_poll_wait_seconds"]) > 0
    assert int(flags["file_system_poll_wait_seconds"]) > 0
    assert flags["enable_batching"] == "true"
    assert flags["allow_version_labels_for_unavailable_models"] == "true"
    mounts = _mounts(tfserving)
    source, read_only = mounts[flags["batching_parameters_file"]]
    assert (COMPOSE.parent / source).resolve() == BATCHING.resolve() and read_only
    assert BATCHING.is_file()


def test_migrate_seeds_the_models_config_tf_serving_reads() -> None:
    services = _services()
    script = " ".join(services["migrate"]["command"])
    assert "catgan db upgrade" in script
    config_file = PurePosixPath(_flags(services["tfserving"]["command"])["model_config_file"])
    assert str(config_file.parent) in script and config_file.name in script


def test_batching_parameters() -> None:
    text = re.sub(r"#.*", "", BATCHING.read_text())
    values = {name: int(value) for name, value in re.findall(r"(\w+)\s*\{\s*value:\s*(\d+)\s*\}", text)}
    assert set(values) == {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"}
    assert values["num_batch_threads"] >= 1 and values["max_enqueued_batches"] >= 1, values
    # = the generate pipeline's model block (64): larger requests are refused, merged ones change the shape
    assert values["max_batch_size"] == 64, "keep max_batch_size equal to generate.py's MODEL_BLOCK"
    assert values["batch_timeout_micros"] == 0, "a partial batch must not wait for company"
    assert re.search(r"^\s*pad_variable_length_inputs:\s*false\s*$", text, re.MULTILINE)


def test_migrate_runs_first_and_once() -> None:
    services = _services()
    assert services["migrate"].get("restart", "no") == "no"
    for name in ("api", "worker-train", "worker-generate", "tfserving"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_healthchecks() -> None:
    services = _services()
    for name in ("api", "redis", "postgres", "tfserving"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "http://127.0.0.1:8000/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "/dev/tcp/127.0.0.1/8500" in " ".join(services["tfserving"]["healthcheck"]["test"])
    for worker, name in (("worker-train", "train@"), ("worker-generate", "generate@")):
        # a worker's main process answers ping while its pool child runs the job
        assert f"inspect ping --destination {name}$$HOSTNAME" in services[worker]["healthcheck"]["test"][1]


def test_the_sweeper_runs_beside_the_workers() -> None:
    sweeper = _services()["sweeper"]
    assert sweeper["command"] == ["catgan", "sweeper"]
    assert sweeper["restart"] == "unless-stopped" and "migrate" in sweeper["depends_on"]


def test_redis_persists_the_queue() -> None:
    redis = _services()["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "/data" in _mounts(redis)


def test_long_running_services_restart_and_workers_get_time_to_checkpoint() -> None:
    services = _services()
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("worker-train", "worker-generate"):
        assert _seconds(services[name]["stop_grace_period"]) >= 60, name


def test_prometheus_scrapes_the_api_and_tf_serving_and_grafana_shows_it() -> None:
    services = _services()
    api = services["api"]["command"]
    assert api[api.index("--config") + 1] == "python:catgan.gunicorn_conf"  # multiprocess metrics
    assert services["api"]["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    tfserving = services["tfserving"]
    flag = next(f for f in tfserving["command"] if f.startswith("--monitoring_config_file="))
    mounted = {target: source for target, (source, _ro) in _mounts(tfserving).items()}
    assert (ROOT / mounted[flag.split("=", 1)[1]]).is_file()
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]
    assert {tuple(job["static_configs"][0]["targets"]) for job in scrape} == {("api:8000",), ("tfserving:8501",)}
    for target, (source, _ro) in _mounts(services["prometheus"]).items():
        assert source.startswith("prometheus-data") or (ROOT / source).exists(), target
    grafana = services["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "grafana_admin_password" in _config()["secrets"]
    for target, (source, _ro) in _mounts(grafana).items():
        assert source.startswith("grafana-data") or (ROOT / source).is_dir(), target


def test_flower_monitors_the_broker() -> None:
    flower = _services()["flower"]
    assert "exec celery -A worker.app flower --port=5555" in flower["command"][-1]
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="no Docker client with the compose plugin here; "
                    "the file is checked by parsing its YAML")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
