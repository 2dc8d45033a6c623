"""The models a train job can pick, by name; each module is imported only when asked for.

A model is two modules named by dotted path: its declaration module (TF-free: the config and
`DECLARATION`, see gans.contract) and its spec module (the keras.Model and `SPEC`, see gans.spec).
`declaration(name)` imports only the first, so the API and core can read a model without
TensorFlow; `get_spec(name)` imports the second. `register` plugs in a model defined anywhere,
e.g. a tiny one defined only in a test, with no change elsewhere.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gans.contract import ModelDeclaration

if TYPE_CHECKING:  # gans.spec imports NumPy; the registry stays light
    from gans.spec import ModelSpec


@dataclass(frozen=True)
class _Entry:
    """Where a registered model lives."""

    declaration_module: str  # defines DECLARATION (TF-free)
    spec_module: str  # defines SPEC (imports TensorFlow)


_MODELS: dict[str, _Entry] = {
    "dcgan": _Entry("gans.configs.dcgan", "gans.dcgan"),
    "keras-gan": _Entry("gans.configs.keras_gan", "gans.keras_gan"),
    "mlp-gan": _Entry("gans.configs.mlp_gan", "gans.mlp_gan"),
    "cgan": _Entry("gans.configs.cgan", "gans.cgan"),
    "pix2pix": _Entry("gans.configs.pix2pix", "gans.pix2pix"),
}


def register(name: str, *, declaration_module: str, spec_module: str) -> None:
    """Plug in model `name`: its DECLARATION in declaration_module, its SPEC in spec_module (dotted paths)."""
    _MODELS[name] = _Entry(declaration_module, spec_module)


def unregister(name: str) -> None:
    """Remove model `name` (a test's fixture model, say); KeyError if it is not registered."""
    _entry(name)
    del _MODELS[name]


def model_names() -> list[str]:
    """Return the names of the registered models, sorted."""
    return sorted(_MODELS)


def declaration(name: str) -> ModelDeclaration:
    """Return the ModelDeclaration of `name` without importing TensorFlow; KeyError names the models there are."""
    found = importlib.import_module(_entry(name).declaration_module).DECLARATION
    if found.name != name:
        raise KeyError(f"model {name!r} is registered with a declaration named {found.name!r}")
    return found


def get_spec(name: str) -> ModelSpec:
    """Return the ModelSpec of `name` (imports its module, and TensorFlow); KeyError names the models there are."""
    return importlib.import_module(_entry(name).spec_module).SPEC


def _entry(name: str) -> _Entry:
    """Return where `name` lives; KeyError lists the registered models."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(model_names())}")
    return _MODELS[name]


def make_config(model: ModelSpec | ModelDeclaration, params: dict[str, Any], data_dir: Path | None = None) -> Any:
    """Return the model's validated config from stored job params (keys the config does not have are left out).

    `model` is a ModelSpec or a ModelDeclaration. A config with class_names gets them from data_dir
    when the params have none (this reads the folder, and imports TensorFlow).
    """
    names = {f.name for f in dataclasses.fields(model.config_type)}
    values = {k: v for k, v in params.items() if k in names}
    if "class_names" in names and not values.get("class_names") and data_dir is not None:
        from gans.labelled import class_names

        values["class_names"] = tuple(class_names(data_dir))
    return model.config_type(**values).validate()
