"""numpy arrays ⇄ TensorFlow TensorProtos, shared by the TF Serving client and the local server.

Tensors travel as raw little-endian bytes in `tensor_content`, never as `float_val` lists: a
(300, 64, 64, 3) uint8 batch is 3.7 MB of bytes instead of 3.7 M varints, and floats come back
bit-exact. These are the bytes `tf.make_tensor_proto` writes for a numpy array, built without
going through TensorFlow's Python tensor machinery.
"""

from __future__ import annotations

import math

import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

# numpy dtype name -> DataType, for the dtypes our signatures use (int64 and float64 for other clients).
_DATA_TYPES: dict[str, int] = {
    "float32": types_pb2.DT_FLOAT,
    "float64": types_pb2.DT_DOUBLE,
    "int32": types_pb2.DT_INT32,
    "uint8": types_pb2.DT_UINT8,
    "int64": types_pb2.DT_INT64,
}
_NUMPY_DTYPES: dict[int, np.dtype] = {code: np.dtype(name) for name, code in _DATA_TYPES.items()}
# Where a proto written without tensor_content keeps its values (TensorFlow's own layout per dtype).
_VALUE_FIELDS: dict[int, str] = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_INT64: "int64_val",
}


def dtype_name(data_type: int) -> str:
    """The numpy name of a DataType ("float32"), or TensorFlow's enum name ("DT_STRING") for others."""
    known = _NUMPY_DTYPES.get(data_type)
    return known.name if known is not None else types_pb2.DataType.Name(data_type)


def to_tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    """Encode an array as a TensorProto with its bytes in `tensor_content`.

    Raises:
        ValueError: the dtype is not one of float32, float64, int32, uint8, int64.
    """
    array = np.asarray(array)
    data_type = _DATA_TYPES.get(array.dtype.name)
    if data_type is None:
        raise ValueError(f"cannot send a {array.dtype} tensor; supported: {', '.join(_DATA_TYPES)}")
    # Little-endian and C-contiguous whatever the input's layout, as TensorFlow reads tensor_content.
    content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=n) for n in array.shape])
    return tensor_pb2.TensorProto(dtype=data_type, tensor_shape=shape, tensor_content=content)


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decode a TensorProto (tensor_content, or TensorFlow's per-dtype value lists) into a writable array.

    Raises:
        ValueError: unsupported dtype, unknown shape, or a payload that does not match the shape.
    """
    dtype = _NUMPY_DTYPES.get(proto.dtype)
    if dtype is None:
        raise ValueError(f"unsupported tensor dtype {dtype_name(proto.dtype)}; supported: {', '.join(_DATA_TYPES)}")
    shape = tensor_shape(proto.tensor_shape)
    if shape is None or any(n < 0 for n in shape):
        raise ValueError("the tensor has no fully known shape")
    size = math.prod(shape)
    if proto.tensor_content:
        expected = size * dtype.itemsize
        if len(proto.tensor_content) != expected:
            raise ValueError(f"tensor_content holds {len(proto.tensor_content)} bytes; "
                             f"{dtype.name} {list(shape)} needs {expected}")
        return np.frombuffer(proto.tensor_content, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    return _from_values(list(getattr(proto, _VALUE_FIELDS[proto.dtype])), dtype, shape)


def tensor_shape(shape: tensor_shape_pb2.TensorShapeProto) -> tuple[int, ...] | None:
    """The dims of a TensorShapeProto (-1 where unknown), or None when even the rank is unknown."""
    return None if shape.unknown_rank else tuple(d.size for d in shape.dim)


def _from_values(values: list[float] | list[int], dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Expand a value list the way TensorFlow does: none means zeros, a short list repeats its last value."""
    size = math.prod(shape)
    if len(values) > size:
        raise ValueError(f"{len(values)} values do not fit shape {list(shape)}")
    flat = np.zeros(size, dtype=dtype)
    if values:
        flat[: len(values)] = values
        flat[len(values):] = values[-1]
    return flat.reshape(shape)
