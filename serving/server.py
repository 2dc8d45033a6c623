"""`catgan serving`: a gRPC server speaking TensorFlow Serving's API over the model repository.

It stands in for TF Serving's binary (not installable here) on one machine and in tests:
PredictionService.Predict and GetModelMetadata, ModelService.GetModelStatus, the models of
`<root>/models.config` with their version policies and labels, reloaded as the config and the
version folders change (serving.model_manager). Like TF Serving, it opens its port only once
the models of the initial config have loaded (or failed), so a client never sees a half-started
server: it is UNAVAILABLE, then complete.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from serving import handlers
from serving.model_manager import ModelManager, RequestError
from serving.tfserving import channel_options

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:8500"  # loopback: the gRPC API has no authentication
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024**2
STOP_GRACE_SECONDS = 5.0


@contextmanager
def _status_errors(context: grpc.ServicerContext) -> Iterator[None]:
    """Answer a RequestError with its status code and message (anything else: gRPC's UNKNOWN + a log)."""
    try:
        yield
    except RequestError as exc:
        context.abort(exc.code, exc.message)


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata; Classify, Regress and MultiInference stay UNIMPLEMENTED."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 (gRPC's name)
        with _status_errors(context):
            return handlers.predict(self.manager, request)

    def GetModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _status_errors(context):
            return handlers.model_metadata(self.manager, request)


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus; HandleReloadConfigRequest stays UNIMPLEMENTED (edit models.config instead)."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager

    def GetModelStatus(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _status_errors(context):
            return handlers.model_status(self.manager, request)


def start_server(root: Path, address: str = "127.0.0.1:0", *, poll_seconds: float = 1.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, config_base_path: Path | None = None,
                 threads: int = 4) -> tuple[grpc.Server, int, ModelManager]:
    """Load the initial models, then listen on `address` (port 0: a free one); return (server, port, manager).

    `config_base_path`: the repository as models.config names it (Settings.serving_model_base_path),
    when that differs from `root`. Stop with `server.stop(grace)` then `manager.stop()`.

    Raises:
        RuntimeError: the address cannot be bound.
    """
    manager = ModelManager(root, poll_seconds=poll_seconds, config_base_path=config_base_path)
    # so_reuseport off: a second server on a busy port must fail, not share the port with the first.
    options = [*channel_options(max_message_bytes), ("grpc.so_reuseport", 0)]
    server = grpc.server(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="serving-rpc"), options=options)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServicer(manager), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(manager), server)
    port = server.add_insecure_port(address)  # raises RuntimeError when the address is taken
    if not port:
        raise RuntimeError(f"cannot listen on {address}")
    manager.start()
    manager.wait_until_settled()
    server.start()
    return server, port, manager


def run_server(root: Path, address: str = DEFAULT_ADDRESS, *, poll_seconds: float = 1.0,
               max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, config_base_path: Path | None = None) -> None:
    """Serve `root` on `address` until SIGTERM or SIGINT, then stop gracefully (call from the main thread)."""
    stop = threading.Event()
    with _stop_on_signals(stop.set):
        server, port, manager = start_server(root, address, poll_seconds=poll_seconds,
                                             max_message_bytes=max_message_bytes, config_base_path=config_base_path)
        host = address.rsplit(":", 1)[0]
        log.info("serving %s on %s:%d", root, host, port)
        if not is_loopback(host):
            log.warning("the gRPC API on %s:%d has no authentication: keep that interface on a private network",
                        host, port)
        try:
            while not stop.wait(1.0):  # a timed wait, so the main thread runs the signal handlers promptly
                pass
        finally:
            log.info("stopping: finishing requests in flight (up to %g s)", STOP_GRACE_SECONDS)
            server.stop(STOP_GRACE_SECONDS).wait()
            manager.stop()
    log.info("stopped")


def is_loopback(host: str) -> bool:
    """True when `host` (a name, an IPv4 or a [bracketed] IPv6 address) only this machine can reach."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to any interface


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call `stop` on SIGTERM and SIGINT, and put the previous handlers back afterwards."""
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop()) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
