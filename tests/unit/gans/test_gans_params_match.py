"""The API's param schemas (core.params, no TensorFlow) and the gans configs agree on names and defaults."""

import dataclasses

import pytest

from core.params import TRAIN_PARAMS
from gans.registry import get_spec, model_names

NOT_EXPOSED = {"jit_compile", "class_names"}  # a deployment setting; filled from the dataset


@pytest.mark.parametrize("model", sorted(TRAIN_PARAMS))
def test_schema_and_config_agree(model: str) -> None:
    config_type = get_spec(model).config_type
    defaults = {f.name: f.default for f in dataclasses.fields(config_type)}
    resolved = TRAIN_PARAMS[model]().load({"seed": 0})
    assert set(resolved) == set(defaults) - NOT_EXPOSED
    for name, value in resolved.items():
        assert value == defaults[name], f"{model}.{name}: API default {value!r}, config default {defaults[name]!r}"
    config_type(**resolved).validate()  # the API's defaults make a valid config


def test_every_registered_model_can_be_trained_through_the_api() -> None:
    assert sorted(TRAIN_PARAMS) == model_names()
