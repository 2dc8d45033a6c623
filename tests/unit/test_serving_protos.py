"""numpy ⇄ TensorProto: byte-exact round trips, the same bytes TensorFlow writes, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from serving.protos import dtype_name, to_ndarray, to_tensor_proto

DTYPES = [np.float32, np.float64, np.int32, np.uint8, np.int64]


def sample(dtype: type, shape: tuple[int, ...] = (3, 4, 5)) -> np.ndarray:
    """Random values over the dtype's whole range, plus its edge values (and NaN, ±inf, -0.0 for floats)."""
    rng = np.random.default_rng(7)
    if np.issubdtype(dtype, np.floating):
        values = rng.standard_normal(shape).astype(dtype) * 1e3
        flat = values.reshape(-1)
        flat[:6] = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).max, np.finfo(dtype).tiny]
        return values
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    values.reshape(-1)[:2] = [info.min, info.max]
    return values


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_round_trip_is_byte_exact(dtype: type) -> None:
    array = sample(dtype)
    proto = tensor_pb2.TensorProto.FromString(to_tensor_proto(array).SerializeToString())
    back = to_ndarray(proto)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == (3, 4, 5)
    assert back.tobytes() == array.tobytes()  # bit-exact, NaN payloads and -0.0 included
    assert back.flags.writeable


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_encoding_is_binary_and_what_tensorflow_writes(dtype: type) -> None:
    array = sample(dtype, (2, 3))
    proto = to_tensor_proto(array)
    assert proto.tensor_content == array.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    assert not (proto.float_val or proto.double_val or proto.int_val or proto.int64_val)
    assert proto == tf.make_tensor_proto(array)
    assert tf.make_ndarray(proto).tobytes() == array.tobytes()


def test_layout_and_byte_order_do_not_change_the_bytes() -> None:
    array = sample(np.float32, (4, 6))
    reference = to_tensor_proto(array)
    assert to_tensor_proto(np.asfortranarray(array)) == reference
    assert to_tensor_proto(array.astype(">f4")) == reference
    transposed = sample(np.float32, (6, 4)).T
    assert to_tensor_proto(transposed) == to_tensor_proto(np.ascontiguousarray(transposed))
    assert to_ndarray(to_tensor_proto(transposed)).tobytes() == np.ascontiguousarray(transposed).tobytes()


@pytest.mark.parametrize("array", [np.float32(2.5), np.zeros((0, 3), np.uint8), np.arange(5, dtype=np.int64)],
                         ids=["scalar", "empty", "vector"])
def test_edge_shapes_round_trip(array: np.ndarray) -> None:
    back = to_ndarray(to_tensor_proto(array))
    assert back.shape == np.shape(array)
    assert back.tobytes() == np.asarray(array).tobytes()


def test_value_lists_decode_as_tensorflow_does() -> None:
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2),
                                                   tensor_shape_pb2.TensorShapeProto.Dim(size=3)])
    short = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, float_val=[1.5, -2.0])
    assert to_ndarray(short).tolist() == [[1.5, -2.0, -2.0], [-2.0, -2.0, -2.0]]  # the last value repeats
    assert to_ndarray(short).tobytes() == tf.make_ndarray(short).tobytes()
    pixels = tensor_pb2.TensorProto(dtype=types_pb2.DT_UINT8, tensor_shape=shape, int_val=[0, 255, 7, 8, 9, 10])
    assert to_ndarray(pixels).tolist() == [[0, 255, 7], [8, 9, 10]]
    empty = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT64, tensor_shape=shape)
    assert to_ndarray(empty).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_refuses_unsupported_dtypes_and_bad_payloads() -> None:
    with pytest.raises(ValueError, match="cannot send a complex64 tensor"):
        to_tensor_proto(np.zeros(2, np.complex64))
    with pytest.raises(ValueError, match="unsupported tensor dtype DT_STRING"):
        to_ndarray(tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING))
    truncated = to_tensor_proto(np.zeros((2, 2), np.float32))
    truncated.tensor_content = truncated.tensor_content[:-1]
    with pytest.raises(ValueError, match="holds 15 bytes; float32 \\[2, 2\\] needs 16"):
        to_ndarray(truncated)
    unknown = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        unknown_rank=True))
    with pytest.raises(ValueError, match="no fully known shape"):
        to_ndarray(unknown)


def test_dtype_names() -> None:
    assert [dtype_name(t) for t in (types_pb2.DT_FLOAT, types_pb2.DT_UINT8, types_pb2.DT_STRING)] == [
        "float32", "uint8", "DT_STRING"]
