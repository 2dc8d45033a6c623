"""The models a train job can pick, by name; each module is imported only when asked for."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

from gans.spec import ModelSpec

MODULES = {
    "dcgan": "gans.dcgan",
    "keras-gan": "gans.keras_gan",
    "mlp-gan": "gans.mlp_gan",
    "cgan": "gans.cgan",
    "pix2pix": "gans.pix2pix",
}


def model_names() -> list[str]:
    return sorted(MODULES)


def get_spec(name: str) -> ModelSpec:
    """The ModelSpec of `name`; KeyError names the models there are."""
    if name not in MODULES:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(model_names())}")
    return importlib.import_module(MODULES[name]).SPEC


def make_config(spec: ModelSpec, params: dict[str, Any], data_dir: Path | None = None) -> Any:
    """The model's config from stored job params (keys the config does not have are left out)."""
    names = {f.name for f in dataclasses.fields(spec.config_type)}
    values = {k: v for k, v in params.items() if k in names}
    if "class_names" in names and not values.get("class_names") and data_dir is not None:
        from gans.labelled import class_names

        values["class_names"] = tuple(class_names(data_dir))
    return spec.config_type(**values).validate()
