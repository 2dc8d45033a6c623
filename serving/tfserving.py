"""A client for TensorFlow Serving's gRPC API (and `catgan serving`, which speaks the same API).

One channel per client, reused by every call; tensors as raw bytes (serving.protos); Predict
retried with exponential backoff while the server is UNAVAILABLE (restarting, or its batch
queue full), every other failure raised at once as ServingError.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import grpc
import numpy as np
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.protos import dtype_name, tensor_shape, to_ndarray, to_tensor_proto

# Retry only UNAVAILABLE: the server is down or restarting, or TF Serving's batch queue is full, so
# the same request can succeed later. Not RESOURCE_EXHAUSTED: gRPC answers it for a message over the
# size limit, which fails the same way on every attempt. Not DEADLINE_EXCEEDED: the server may still
# be working on the request, and resending it doubles the load on a server that is already slow.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
MAX_BACKOFF_SECONDS = 8.0
STATUS_POLL_SECONDS = 0.25
_State = get_model_status_pb2.ModelVersionStatus.State


class ServingError(RuntimeError):
    """A TF Serving call that failed; `code` is the gRPC status (None when no call answered)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    """gRPC options for both ends: lift the 4 MB default message limit (a batch of images is bigger)."""
    return [("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes)]


class TFServingClient:
    """Predict, model status and metadata over one gRPC channel to TF Serving."""

    def __init__(self, address: str, *, timeout_seconds: float = 60, retries: int = 5,
                 max_message_bytes: int = 256 * 1024**2, backoff_seconds: float = 0.5) -> None:
        self.address = address
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        # Reconnect at least every 2 s while the server is away (gRPC's default backoff grows to 120 s),
        # so a retry after the server is back finds the channel connected.
        options = [*channel_options(max_message_bytes), ("grpc.initial_reconnect_backoff_ms", 200),
                   ("grpc.max_reconnect_backoff_ms", 2000)]
        self._channel = grpc.insecure_channel(address, options=options)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def predict(self, name: str, inputs: dict[str, np.ndarray], *, version: int | None = None,
                label: str | None = None, signature: str = "serving_default", output: str = "images") -> np.ndarray:
        """Run `signature` of model `name` (a version, a label, or the latest) and return one output.

        Raises:
            ServingError: the server refused the request, or stayed UNAVAILABLE through every retry.
        """
        request = predict_pb2.PredictRequest(model_spec=_model_spec(name, version, label, signature),
                                             output_filter=[output])
        for key, array in inputs.items():
            request.inputs[key].CopyFrom(to_tensor_proto(array))
        response = self._call(self._predictions.Predict, request, f"Predict {_describe(name, version, label)}")
        if output not in response.outputs:
            raise ServingError(f"{name} returned no output {output!r}, only {sorted(response.outputs)}")
        return to_ndarray(response.outputs[output])

    def model_status(self, name: str, *, version: int | None = None) -> dict[int, str]:
        """The state ("AVAILABLE", "LOADING", "END"...) of one version, or of every version the server knows.

        No `label`: TF Serving ignores a version_label in GetModelStatus and reports every version.

        Raises:
            ServingError: NOT_FOUND when the server knows no such model or version.
        """
        response = self._call(self._models.GetModelStatus, _status_request(name, version),
                              f"GetModelStatus {_describe(name, version)}")
        return {s.version: _State.Name(s.state) for s in response.model_version_status}

    def wait_until_available(self, name: str, version: int, timeout: float = 120) -> None:
        """Block until `version` of `name` is AVAILABLE; while it is unknown, loading, or the server down, wait.

        Raises:
            ServingError: the version failed to load, or is not AVAILABLE after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            remaining = deadline - time.monotonic()
            try:
                status = self._version_status(name, version, max(min(remaining, self.timeout_seconds), 0.01))
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE,
                                      grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise _error(f"GetModelStatus {_describe(name, version)}", exc) from exc
                last = f"{exc.code().name}: {exc.details()}"  # not published yet, or the server (re)starting
            else:
                if status is not None and status.state == _State.AVAILABLE:
                    return
                if status is not None and status.state == _State.END and status.status.error_code:
                    raise ServingError(f"version {version} of model {name!r} failed to load: "
                                       f"{status.status.error_message}", details=status.status.error_message)
                last = _State.Name(status.state) if status is not None else "not reported"
            if time.monotonic() >= deadline:
                raise ServingError(f"version {version} of model {name!r} is not AVAILABLE on {self.address} "
                                   f"after {timeout:g} s (last status: {last})")
            time.sleep(min(STATUS_POLL_SECONDS, max(deadline - time.monotonic(), 0)))

    def metadata(self, name: str, *, version: int | None = None, label: str | None = None) -> dict[str, Any]:
        """The version that answers and its signatures: input/output dtypes and shapes (-1: any size).

        Raises:
            ServingError: the server refused the request (e.g. NOT_FOUND).
        """
        request = get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=_model_spec(name, version, label, ""), metadata_field=["signature_def"])
        response = self._call(self._predictions.GetModelMetadata, request,
                              f"GetModelMetadata {_describe(name, version, label)}")
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return {"name": response.model_spec.name, "version": response.model_spec.version.value,
                "signatures": {key: _describe_signature(sig) for key, sig in signatures.signature_def.items()}}

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> TFServingClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _call(self, method: Callable[..., Any], request: Any, what: str) -> Any:
        """Call `method`, retrying UNAVAILABLE with exponential backoff and jitter."""
        for attempt in range(self.retries + 1):
            try:
                return method(request, timeout=self.timeout_seconds)
            except grpc.RpcError as exc:
                if exc.code() not in RETRYABLE or attempt == self.retries:
                    raise _error(what, exc, attempts=attempt + 1) from exc
            delay = min(self.backoff_seconds * 2**attempt, MAX_BACKOFF_SECONDS)
            # ±10 % jitter, so workers refused together do not all come back in the same instant.
            time.sleep(delay * random.uniform(0.9, 1.1))
        raise AssertionError("unreachable")

    def _version_status(self, name: str, version: int, timeout: float) -> Any:
        """The ModelVersionStatus of one version (None if not reported); gRPC errors propagate."""
        response = self._models.GetModelStatus(_status_request(name, version), timeout=timeout)
        return next((s for s in response.model_version_status if s.version == version), None)


def _model_spec(name: str, version: int | None, label: str | None, signature: str) -> model_pb2.ModelSpec:
    """A ModelSpec naming at most one of version and label (neither: the latest version)."""
    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    spec = model_pb2.ModelSpec(name=name, signature_name=signature)
    if version is not None:
        spec.version.value = version
    elif label is not None:
        spec.version_label = label
    return spec


def _status_request(name: str, version: int | None) -> get_model_status_pb2.GetModelStatusRequest:
    return get_model_status_pb2.GetModelStatusRequest(model_spec=_model_spec(name, version, None, ""))


def _describe(name: str, version: int | None = None, label: str | None = None) -> str:
    """`cats`, `cats version 3` or `cats label stable`, for error messages."""
    return name + (f" version {version}" if version is not None else "") + (f" label {label}" if label else "")


def _error(what: str, exc: grpc.RpcError, attempts: int = 1) -> ServingError:
    """A ServingError carrying the gRPC status code and details."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return ServingError(f"{what} failed{tries}: {exc.code().name}: {exc.details()}", exc.code(), exc.details() or "")


def _describe_signature(signature: Any) -> dict[str, Any]:
    """A SignatureDef as plain data: {"method", "inputs": {key: {"dtype", "shape"}}, "outputs": ...}."""
    def tensors(infos: Any) -> dict[str, Any]:
        return {key: {"dtype": dtype_name(info.dtype), "shape": _list(tensor_shape(info.tensor_shape))}
                for key, info in infos.items()}
    return {"method": signature.method_name, "inputs": tensors(signature.inputs), "outputs": tensors(signature.outputs)}


def _list(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)
