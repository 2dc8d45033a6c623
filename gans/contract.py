"""What a model declares to the rest of the house, readable without TensorFlow (stdlib only).

Each model's `gans/configs/<name>.py` holds its config dataclass and a `DECLARATION`: its name, its
kind, its config type, a one-line summary and the signature its export serves. Core, the worker and
serving read the declaration (or the `record` of it stored on a ModelVersion) instead of testing
model names, and the API derives its param validation from the config's fields:

- every user param is declared with `param(default, min=..., max=..., choices=..., doc=...)`, whose
  bounds live in the field's metadata (read them with `param_info` / `params_of`);
- fields that are not user params (filled by the house, or deployment settings) use
  `internal(default, doc=...)`: metadata `{"param": False}`, which the API must neither accept nor show.

The config's `validate()` checks these bounds (gans.config.check_params) plus its cross-field rules.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DTYPES = ("float32", "int32", "uint8")
PARAM = "param"  # metadata key: True for user params (param()), False for internal fields (internal())


class ModelKind(StrEnum):
    """What a model makes, and so what a generate or translate job of it takes."""

    UNCONDITIONAL = "unconditional"  # z -> images
    CONDITIONAL = "conditional"  # (z, label) -> images of that class
    IMAGE_TO_IMAGE = "image-to-image"  # image -> image


@dataclass(frozen=True)
class TensorField:
    """One named tensor of a serving signature; shape None entries are any size, batch first."""

    name: str
    dtype: str  # one of DTYPES
    shape: tuple[int | None, ...]

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"TensorField {self.name!r}: dtype must be one of {DTYPES}, got {self.dtype!r}")
        object.__setattr__(self, "shape", tuple(self.shape))  # JSON brings a list

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, the inverse of from_dict."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorField:
        """Build a field from to_dict's output."""
        return cls(name=d["name"], dtype=d["dtype"], shape=tuple(d["shape"]))


@dataclass(frozen=True, kw_only=True)
class Signature:
    """A SavedModel signature: its key and its input and output tensors, in order."""

    key: str = "serving_default"
    inputs: tuple[TensorField, ...]
    outputs: tuple[TensorField, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))

    @property
    def input_names(self) -> tuple[str, ...]:
        """Return the inputs' names, in order."""
        return tuple(f.name for f in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Return the outputs' names, in order."""
        return tuple(f.name for f in self.outputs)

    def input(self, name: str) -> TensorField:
        """Return the input called name; KeyError lists the inputs there are."""
        return _named(self.inputs, name, "input")

    def output(self, name: str) -> TensorField:
        """Return the output called name; KeyError lists the outputs there are."""
        return _named(self.outputs, name, "output")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, the inverse of from_dict."""
        return {"key": self.key, "inputs": [f.to_dict() for f in self.inputs],
                "outputs": [f.to_dict() for f in self.outputs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Signature:
        """Build a signature from to_dict's output."""
        return cls(key=d.get("key", "serving_default"),
                   inputs=tuple(TensorField.from_dict(f) for f in d["inputs"]),
                   outputs=tuple(TensorField.from_dict(f) for f in d["outputs"]))


def _named(fields: tuple[TensorField, ...], name: str, what: str) -> TensorField:
    """Return the field called name; KeyError names the ones there are."""
    for f in fields:
        if f.name == name:
            return f
    raise KeyError(f"no {what} {name!r}; the signature's {what}s are {[f.name for f in fields]}")


@dataclass(frozen=True)
class ModelDeclaration:
    """Everything the house outside gans needs to know of one model, without importing TensorFlow."""

    name: str  # the API's `model` value, e.g. "dcgan"
    kind: ModelKind
    config_type: type  # the model's frozen config dataclass (fields declared with param / internal)
    summary: str  # one line for docs and the UI
    signature: Callable[[Any], Signature]  # config -> the signature its export serves

    def record(self, config: Any) -> dict[str, Any]:
        """Return the JSON stored on a ModelVersion: kind, signature, image size, channels, z_dim, classes.

        image_size and channels are those of the signature's first output (N, S, S, C); z_dim is the
        length of input "z", None when there is none (image-to-image); "classes" (label i = classes[i])
        is present only for conditional models.
        """
        classes = config.class_names if self.kind is ModelKind.CONDITIONAL else None
        return make_record(self.kind, self.signature(config), classes)


def make_record(kind: ModelKind, signature: Signature, classes: Any = None) -> dict[str, Any]:
    """Return ModelDeclaration.record's JSON for a model of kind serving signature (classes: conditional only)."""
    images = signature.outputs[0]
    z_dim = signature.input("z").shape[-1] if "z" in signature.input_names else None
    record = {"kind": str(kind), "signature": signature.to_dict(), "image_size": images.shape[1],
              "channels": images.shape[-1], "z_dim": z_dim}
    if kind is ModelKind.CONDITIONAL:
        record["classes"] = list(classes)
    return record


def param(default: Any, *, min: float | None = None, max: float | None = None,  # noqa: A002
          min_exclusive: bool = False, max_exclusive: bool = False,
          choices: tuple[Any, ...] | list[Any] | None = None, doc: str = "") -> Any:
    """Declare a user param of a config: its default, bounds (inclusive unless *_exclusive) and doc."""
    metadata = {PARAM: True, "min": min, "max": max, "min_exclusive": min_exclusive,
                "max_exclusive": max_exclusive, "choices": None if choices is None else tuple(choices),
                "doc": doc}
    return dataclasses.field(default=default, metadata=metadata)


def internal(default: Any, *, doc: str = "") -> Any:
    """Declare a config field that is not a user param (filled by the house, or a deployment setting)."""
    return dataclasses.field(default=default, metadata={PARAM: False, "doc": doc})


@dataclass(frozen=True)
class ParamInfo:
    """One user param as the API needs it: type, nullability, default, bounds and doc."""

    name: str
    type: type  # int, float, bool or str
    nullable: bool  # the annotation is `X | None`
    default: Any
    min: float | None
    max: float | None
    min_exclusive: bool
    max_exclusive: bool
    choices: tuple[Any, ...] | None
    doc: str


def is_param(f: dataclasses.Field) -> bool:
    """Tell a user param (declared with param()) from an internal field."""
    return bool(f.metadata.get(PARAM, False))


def params_of(config_type: type) -> tuple[ParamInfo, ...]:
    """Return the user params of a config dataclass, in field order."""
    hints = typing.get_type_hints(config_type)
    return tuple(param_info(f, hints[f.name]) for f in dataclasses.fields(config_type) if is_param(f))


def param_info(f: dataclasses.Field, annotation: Any) -> ParamInfo:
    """Return the ParamInfo of field f with its resolved annotation (int, float, bool, str or X | None)."""
    args = typing.get_args(annotation)
    nullable = isinstance(annotation, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if nullable else annotation
    if base not in (int, float, bool, str):
        raise TypeError(f"param {f.name!r}: annotation must be int, float, bool, str or X | None, "
                        f"got {annotation!r}")
    m = f.metadata
    return ParamInfo(name=f.name, type=base, nullable=nullable, default=f.default, min=m.get("min"),
                     max=m.get("max"), min_exclusive=m.get("min_exclusive", False),
                     max_exclusive=m.get("max_exclusive", False), choices=m.get("choices"),
                     doc=m.get("doc", ""))
