"""TF Serving's gRPC API end to end: `catgan serving` in a subprocess (and in-process) and TFServingClient.

The models are tiny but real exports (gans.export, gans.cgan, gans.pix2pix), so every answer is
compared byte for byte with the same SavedModel called directly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

from core.storage import write_atomic
from gans import cgan, pix2pix
from gans.export import export_generator
from serving.protos import to_tensor_proto
from serving.server import start_server
from serving.tfserving import ServingError, TFServingClient

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
Z_DIM = 4
POLL_SECONDS = 0.2
FOUR_MB = 4 * 1024**2  # gRPC's default message limit


# --- tiny real exports ---------------------------------------------------------------------------

def export_dcgan(path: Path, seed: int) -> None:
    """A z (N, 4) -> uint8 (N, 64, 64, 3) generator exported by gans.export; the seed sets its weights."""
    generator = keras.Sequential([
        keras.Input((Z_DIM,)),
        keras.layers.Dense(8 * 8 * 3, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed)),
        keras.layers.Reshape((8, 8, 3)),
        keras.layers.UpSampling2D(8),
        keras.layers.Activation("tanh"),
    ])
    export_generator(generator, path, Z_DIM)


def export_conditional(path: Path) -> None:
    """A tiny real cGAN (z, label) -> uint8 (N, 28, 28, 1), two classes."""
    config = cgan.CGANConfig(class_names=("a", "b"), image_size=28, z_dim=Z_DIM, g_filters=4, d_filters=4, seed=3)
    cgan.export_cgan(cgan.build_cgan(config), config, path, {})


def export_translator(path: Path) -> None:
    """A tiny real pix2pix: image uint8 (N, 64, 64, 3) -> uint8 (N, 64, 64, 3)."""
    config = pix2pix.Pix2PixConfig(image_size=64, ngf=4, ndf=4)
    pix2pix.export(pix2pix.build(config), config, path, {})


def direct(path: Path, **inputs: np.ndarray) -> np.ndarray:
    """What the SavedModel itself answers, loaded with tf.saved_model.load."""
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return serve(**{key: tf.constant(value) for key, value in inputs.items()})["images"].numpy()


class Repo:
    """The model repository the servers read: versions published by rename, models.config rewritten atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: dict[str, str] = {}

    def publish(self, name: str, version: int, export: Callable[[Path], None]) -> Path:
        """Export into a staging folder, then rename it to <name>/<version> (a server never sees half)."""
        staging = self.root / ".staging" / uuid.uuid4().hex
        export(staging)
        target = self.root / name / str(version)
        target.parent.mkdir(exist_ok=True)
        os.rename(staging, target)
        return target

    def configure(self, name: str, policy: str = "", labels: dict[str, int] | None = None) -> None:
        """Set one model's entry (policy e.g. "all {}"; "" = TF Serving's default) and rewrite models.config."""
        lines = [f'name: "{name}"', f'base_path: "{self.root / name}"', 'model_platform: "tensorflow"']
        if policy:
            lines.append(f"model_version_policy {{ {policy} }}")
        lines += [f'version_labels {{ key: "{key}" value: {value} }}' for key, value in (labels or {}).items()]
        self.entries[name] = "  config {\n" + "".join(f"    {line}\n" for line in lines) + "  }\n"
        write_atomic(self.root / "models.config",
                     ("model_config_list {\n" + "".join(self.entries.values()) + "}\n").encode())

    def path(self, name: str, version: int) -> Path:
        return self.root / name / str(version)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eventually(probe: Callable[[], Any], expected: Any, timeout: float = 15.0) -> None:
    """Poll `probe` until it returns `expected`; fail showing the last value."""
    deadline = time.monotonic() + timeout
    while (value := probe()) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"still {value!r} after {timeout} s, expected {expected!r}")
        time.sleep(0.1)


def latents(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, Z_DIM), dtype=np.float32)


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    repo = Repo(tmp_path_factory.mktemp("repo"))
    for version, seed in ((1, 1), (2, 2)):
        repo.publish("dc", version, lambda p, s=seed: export_dcgan(p, s))
        shutil.copytree(repo.path("dc", version), repo.root / "pin" / str(version))
    repo.configure("dc", "all {}", {"stable": 1, "canary": 2})
    repo.configure("pin", "all {}")
    for version in (1, 2, 3):
        repo.publish("latest", version, lambda p, s=10 + version: export_dcgan(p, s))
    repo.configure("latest")
    repo.publish("grow", 1, lambda p: export_dcgan(p, 21))
    repo.configure("grow")
    repo.publish("cgan", 1, export_conditional)
    repo.configure("cgan")
    repo.publish("p2p", 1, export_translator)
    repo.configure("p2p")
    return repo


@pytest.fixture(scope="module")
def server(repo: Repo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`python -m catgan.cli serving` on a free port, with settings from CATGAN_* variables only."""
    home, port = tmp_path_factory.mktemp("home"), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
    env.update(CATGAN_HOME=str(home), CATGAN_MODEL_REPOSITORY=str(repo.root), TF_CPP_MIN_LOG_LEVEL="2")
    log_path = home / "serving.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "catgan.cli", "serving", "--address", f"127.0.0.1:{port}",
             "--poll-seconds", str(POLL_SECONDS)], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log_path)
        yield {"address": f"127.0.0.1:{port}", "port": port, "process": process, "log": log_path}
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60.0) -> None:
    """Wait until the server accepts connections (it listens only once the initial models are loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"catgan serving exited with {process.returncode}:\n{log_path.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"catgan serving did not listen within {timeout} s:\n{log_path.read_text()}")


@pytest.fixture
def client(server: dict[str, Any]) -> Iterator[TFServingClient]:
    with TFServingClient(server["address"]) as client:
        yield client


# --- against the CLI server ----------------------------------------------------------------------

def test_predict_is_byte_identical_to_the_saved_model(client: TFServingClient, repo: Repo) -> None:
    z = latents(5)
    one, two = direct(repo.path("dc", 1), z=z), direct(repo.path("dc", 2), z=z)
    assert one.dtype == np.uint8 and one.shape == (5, 64, 64, 3)
    assert not np.array_equal(one, two)  # two versions, two sets of weights
    assert np.array_equal(client.predict("dc", {"z": z}, version=1), one)
    assert np.array_equal(client.predict("dc", {"z": z}, version=2), two)


def test_labels_and_latest_route_to_their_versions(client: TFServingClient, repo: Repo,
                                                   server: dict[str, Any]) -> None:
    z = latents(3, seed=1)
    assert np.array_equal(client.predict("dc", {"z": z}, label="stable"), direct(repo.path("dc", 1), z=z))
    assert np.array_equal(client.predict("dc", {"z": z}, label="canary"), direct(repo.path("dc", 2), z=z))
    assert np.array_equal(client.predict("dc", {"z": z}), direct(repo.path("dc", 2), z=z))
    # The response names the version that answered, as TF Serving's does.
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="dc", version_label="stable"))
    request.inputs["z"].CopyFrom(to_tensor_proto(z))
    with grpc.insecure_channel(server["address"]) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
    assert (response.model_spec.name, response.model_spec.version.value) == ("dc", 1)
    assert response.model_spec.signature_name == "serving_default"
    assert list(response.outputs) == ["images"]


def test_default_policy_serves_only_the_newest_version(client: TFServingClient, repo: Repo) -> None:
    assert client.model_status("latest") == {3: "AVAILABLE"}
    z = latents(2)
    assert np.array_equal(client.predict("latest", {"z": z}), direct(repo.path("latest", 3), z=z))
    with pytest.raises(ServingError) as error:
        client.predict("latest", {"z": z}, version=1)
    assert error.value.code == grpc.StatusCode.NOT_FOUND
    assert "Servable not found for request: Specific(latest, 1)" in str(error.value)


def test_conditional_and_image_to_image_models(client: TFServingClient, repo: Repo) -> None:
    z, label = latents(4), np.array([0, 1, 1, 0], np.int32)
    images = client.predict("cgan", {"z": z, "label": label})
    assert images.shape == (4, 28, 28, 1)
    assert np.array_equal(images, direct(repo.path("cgan", 1), z=z, label=label))
    sketches = np.random.default_rng(2).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    assert np.array_equal(client.predict("p2p", {"image": sketches}), direct(repo.path("p2p", 1), image=sketches))
    with pytest.raises(ServingError) as error:  # the signature's own assertion, surfaced as the caller's error
        client.predict("cgan", {"z": z, "label": np.array([0, 1, 2, 0], np.int32)})
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "label must be < 2" in error.value.details


def test_metadata_describes_the_signature(client: TFServingClient) -> None:
    metadata = client.metadata("cgan")
    assert (metadata["name"], metadata["version"]) == ("cgan", 1)
    serving_default = metadata["signatures"]["serving_default"]
    assert serving_default["inputs"] == {"z": {"dtype": "float32", "shape": [-1, Z_DIM]},
                                         "label": {"dtype": "int32", "shape": [-1]}}
    assert serving_default["outputs"] == {"images": {"dtype": "uint8", "shape": [-1, 28, 28, 1]}}
    assert client.metadata("dc", label="stable")["version"] == 1


@pytest.mark.parametrize(("call", "code", "message"), [
    (lambda c: c.predict("nope", {"z": latents(1)}), "NOT_FOUND", "Servable not found for request: Latest(nope)"),
    (lambda c: c.model_status("nope"), "NOT_FOUND", "Could not find any versions of model nope"),
    (lambda c: c.predict("dc", {"z": latents(1)}, version=9), "NOT_FOUND", "Specific(dc, 9)"),
    (lambda c: c.predict("dc", {"noise": latents(1)}), "INVALID_ARGUMENT",
     "Sent extra: {noise}. Missing but required: {z}."),
    (lambda c: c.predict("dc", {"z": latents(1).astype(np.float64)}), "INVALID_ARGUMENT",
     "Expects arg[z] to be float32 but float64 is provided"),
    (lambda c: c.predict("dc", {"z": np.zeros((1, 5), np.float32)}), "INVALID_ARGUMENT", "takes [?,4]"),
    (lambda c: c.predict("dc", {"z": latents(1)}, label="nope"), "INVALID_ARGUMENT",
     "Unrecognized servable version label: nope"),
    (lambda c: c.predict("dc", {"z": latents(1)}, signature="other"), "FAILED_PRECONDITION",
     'Serving signature key "other" not found.'),
], ids=["model", "status", "version", "input-name", "dtype", "shape", "label", "signature"])
def test_errors_carry_tf_servings_codes(client: TFServingClient, call: Callable[[TFServingClient], Any],
                                        code: str, message: str) -> None:
    with pytest.raises(ServingError) as error:
        call(client)
    assert error.value.code == grpc.StatusCode[code]
    assert message in error.value.details


def test_a_version_published_later_becomes_available(client: TFServingClient, repo: Repo) -> None:
    repo.publish("grow", 2, lambda p: export_dcgan(p, 22))  # no config change: the folder appears
    client.wait_until_available("grow", 2, timeout=30)
    z = latents(2)
    assert np.array_equal(client.predict("grow", {"z": z}), direct(repo.path("grow", 2), z=z))
    eventually(lambda: client.model_status("grow"), {2: "AVAILABLE", 1: "END"})  # latest {1}: v1 unloaded


def test_models_config_changes_are_picked_up(client: TFServingClient, repo: Repo) -> None:
    z = latents(2, seed=3)
    v1, v2 = direct(repo.path("pin", 1), z=z), direct(repo.path("pin", 2), z=z)
    assert np.array_equal(client.predict("pin", {"z": z}), v2)
    repo.configure("pin", "specific { versions: 1 }", {"pinned": 1})
    eventually(lambda: client.model_status("pin"), {2: "END", 1: "AVAILABLE"})
    assert np.array_equal(client.predict("pin", {"z": z}, label="pinned"), v1)
    assert np.array_equal(client.predict("pin", {"z": z}), v1)
    repo.configure("pin", "latest { num_versions: 2 }", {"pinned": 1, "next": 2})
    client.wait_until_available("pin", 2, timeout=30)  # an unloaded version loads again
    assert np.array_equal(client.predict("pin", {"z": z}, label="next"), v2)


def test_a_version_that_fails_to_load_is_reported(client: TFServingClient, repo: Repo) -> None:
    (repo.root / "broken" / "1").mkdir(parents=True)
    (repo.root / "broken" / "1" / "saved_model.pb").write_bytes(b"not a SavedModel")
    repo.configure("broken")
    started = time.monotonic()
    with pytest.raises(ServingError, match="version 1 of model 'broken' failed to load"):
        client.wait_until_available("broken", 1, timeout=30)
    assert time.monotonic() - started < 10  # fails on the END status, not on the timeout
    assert client.model_status("broken") == {1: "END"}


def test_a_response_over_four_megabytes_needs_the_size_options(client: TFServingClient, repo: Repo,
                                                               server: dict[str, Any]) -> None:
    z = latents(400)
    images = client.predict("dc", {"z": z}, version=1)
    assert images.nbytes > FOUR_MB
    assert np.array_equal(images, direct(repo.path("dc", 1), z=z))
    with TFServingClient(server["address"], max_message_bytes=FOUR_MB) as small:
        with pytest.raises(ServingError) as error:
            small.predict("dc", {"z": z}, version=1)
    assert error.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED


# --- in-process servers --------------------------------------------------------------------------

def test_unavailable_is_retried_until_the_server_is_up(repo: Repo) -> None:
    port, started = free_port(), {}

    def start_late() -> None:
        time.sleep(1.0)
        started["server"] = start_server(repo.root, f"127.0.0.1:{port}", poll_seconds=POLL_SECONDS)

    thread = threading.Thread(target=start_late)
    thread.start()
    try:
        begin = time.monotonic()
        with TFServingClient(f"127.0.0.1:{port}", retries=5) as client:
            images = client.predict("dc", {"z": latents(2)}, version=1)
        assert time.monotonic() - begin > 1.0
        assert np.array_equal(images, direct(repo.path("dc", 1), z=latents(2)))
    finally:
        thread.join()
        server, _, manager = started["server"]
        server.stop(0).wait()
        manager.stop()


def test_a_dead_server_fails_fast_without_retries_and_backs_off_with_them() -> None:
    address = f"127.0.0.1:{free_port()}"
    with TFServingClient(address, retries=0) as client:
        begin = time.monotonic()
        with pytest.raises(ServingError) as error:
            client.predict("dc", {"z": latents(1)})
        assert time.monotonic() - begin < 3
    assert error.value.code == grpc.StatusCode.UNAVAILABLE
    with TFServingClient(address, retries=3, backoff_seconds=0.1) as client:
        begin = time.monotonic()
        with pytest.raises(ServingError, match="after 4 attempts: UNAVAILABLE"):
            client.predict("dc", {"z": latents(1)})
        assert time.monotonic() - begin > 0.6  # 0.1 + 0.2 + 0.4 s of backoff, ±10 %


def test_an_unconfigured_repository_serves_nothing_until_configured(tmp_path: Path, repo: Repo) -> None:
    # models.config written for a TF Serving container (base paths under /models) still works here.
    server, port, manager = start_server(tmp_path, poll_seconds=0.1, config_base_path=Path("/models"))
    try:
        with TFServingClient(f"127.0.0.1:{port}", retries=0) as client:
            with pytest.raises(ServingError) as error:
                client.model_status("m")
            assert error.value.code == grpc.StatusCode.NOT_FOUND  # up and answering, just no models
            shutil.copytree(repo.path("dc", 1), tmp_path / "m" / "7")
            write_atomic(tmp_path / "models.config", b'model_config_list { config { name: "m" '
                         b'base_path: "/models/m" model_platform: "tensorflow" } }')
            client.wait_until_available("m", 7, timeout=30)
            assert np.array_equal(client.predict("m", {"z": latents(3)}), direct(repo.path("dc", 1), z=latents(3)))
            # A config that does not parse is logged and ignored: what is served stays served.
            write_atomic(tmp_path / "models.config", b"model_config_list { config { oops } }")
            time.sleep(0.5)
            assert client.model_status("m") == {7: "AVAILABLE"}
            assert client.predict("m", {"z": latents(1)}).shape == (1, 64, 64, 3)
    finally:
        server.stop(0).wait()
        manager.stop()


# Last: it stops the module's CLI server.
def test_sigterm_stops_the_cli_server_gracefully(server: dict[str, Any], repo: Repo) -> None:
    process: subprocess.Popen[bytes] = server["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    log = server["log"].read_text()
    assert f"serving {repo.root} on 127.0.0.1:{server['port']}" in log
    assert log.rstrip().endswith("stopped")
