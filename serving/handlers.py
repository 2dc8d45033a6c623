"""The local server's answers to Predict, GetModelMetadata and GetModelStatus, as TF Serving gives them.

Each handler takes the request proto and returns the response proto, or raises RequestError with
the status code and message TF Serving uses (its wording, so logs and searches match).
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, model_pb2, predict_pb2

from serving.model_manager import ModelManager, RequestError, Servable
from serving.protos import dtype_name, tensor_shape, to_ndarray, to_tensor_proto

DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_DEF_FIELD = "signature_def"
_CODES = {code.value[0]: code for code in grpc.StatusCode}  # tf.errors codes are gRPC's numbers


def predict(manager: ModelManager, request: predict_pb2.PredictRequest) -> predict_pb2.PredictResponse:
    """Run one signature of the version the model spec names on the request's tensors."""
    import tensorflow as tf

    servable = _resolve(manager, request.model_spec)
    signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    signature_def = servable.signature_defs.get(signature_name)
    function = servable.loaded.signatures.get(signature_name)
    if signature_def is None or function is None:
        raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                           f'Serving signature key "{signature_name}" not found.')
    feeds = _feeds(signature_def, request.inputs)
    fetches = _fetches(signature_def, request.output_filter)
    try:
        results = function(**{key: tf.constant(array) for key, array in feeds.items()})
    except tf.errors.OpError as exc:  # e.g. a tf.debugging assertion in the signature: the caller's input
        raise RequestError(_CODES.get(exc.error_code, grpc.StatusCode.UNKNOWN), exc.message) from exc
    response = predict_pb2.PredictResponse(model_spec=_model_spec(servable, signature_name))
    for key in fetches:
        response.outputs[key].CopyFrom(to_tensor_proto(results[key].numpy()))
    return response


def model_metadata(
    manager: ModelManager, request: get_model_metadata_pb2.GetModelMetadataRequest
) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """The SignatureDefs of the version the model spec names, packed as TF Serving packs them."""
    if not request.metadata_field:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           "GetModelMetadataRequest must specify at least one metadata_field")
    for name in request.metadata_field:
        if name != SIGNATURE_DEF_FIELD:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"Metadata field {name} is not supported")
    servable = _resolve(manager, request.model_spec)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for key, signature_def in servable.signature_defs.items():
        signatures.signature_def[key].CopyFrom(signature_def)
    response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=_model_spec(servable))
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
    return response


def model_status(
    manager: ModelManager, request: get_model_status_pb2.GetModelStatusRequest
) -> get_model_status_pb2.GetModelStatusResponse:
    """The state of one version, or of every version the server has seen, newest first."""
    spec = request.model_spec
    if not spec.name:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    # Like TF Serving, a version_label is ignored here: without a version, every version is reported.
    version = spec.version.value if spec.HasField("version") else None
    response = get_model_status_pb2.GetModelStatusResponse()
    for servable in manager.status(spec.name, version):
        status = response.model_version_status.add(
            version=servable.version, state=get_model_status_pb2.ModelVersionStatus.State.Value(servable.state))
        status.status.error_code = servable.error_code
        status.status.error_message = servable.error
    return response


def _resolve(manager: ModelManager, spec: model_pb2.ModelSpec) -> Servable:
    """The AVAILABLE servable for a model spec: its version, its version_label, or the latest."""
    if not spec.name:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    choice = spec.WhichOneof("version_choice")
    return manager.resolve(spec.name, version=spec.version.value if choice == "version" else None,
                           label=spec.version_label if choice == "version_label" else None)


def _model_spec(servable: Servable, signature_name: str = "") -> model_pb2.ModelSpec:
    """The spec a response carries: which model and version answered, through which signature."""
    spec = model_pb2.ModelSpec(name=servable.name, signature_name=signature_name)
    spec.version.value = servable.version
    return spec


def _feeds(signature_def: Any, inputs: Any) -> dict[str, np.ndarray]:
    """The request's tensors as arrays, checked against the signature's names, dtypes and shapes."""
    expected, sent = set(signature_def.inputs), set(inputs)
    if sent != expected:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
            f"input size does not match signature: {len(sent)}!={len(expected)} len({{{','.join(sorted(sent))}}}) "
            f"!= len({{{','.join(sorted(expected))}}}). Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}."))
    feeds = {}
    for key in sorted(expected):
        info, proto = signature_def.inputs[key], inputs[key]
        if proto.dtype != info.dtype:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"Expects arg[{key}] to be {dtype_name(info.dtype)} but "
                               f"{dtype_name(proto.dtype)} is provided")
        try:
            array = to_ndarray(proto)
        except ValueError as exc:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"tensor parsing error: {key}: {exc}") from exc
        _check_shape(key, array.shape, tensor_shape(info.tensor_shape))
        feeds[key] = array
    return feeds


def _check_shape(key: str, shape: tuple[int, ...], wanted: tuple[int, ...] | None) -> None:
    """Refuse a tensor whose shape the signature cannot take (-1 in `wanted` matches any size)."""
    if wanted is None:
        return
    if len(shape) != len(wanted) or any(w >= 0 and w != n for n, w in zip(shape, wanted, strict=True)):
        dims = ",".join("?" if w < 0 else str(w) for w in wanted)
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input {key} has shape {list(shape)}, but the signature takes [{dims}]")


def _fetches(signature_def: Any, output_filter: Any) -> list[str]:
    """The output keys to return: the filter's, or every output of the signature."""
    for key in output_filter:
        if key not in signature_def.outputs:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"output tensor alias not found in signature: {key} Outputs expected to be in the set "
                f"{{{','.join(sorted(signature_def.outputs))}}}."))
    return list(output_filter) or sorted(signature_def.outputs)
