"""The API's param schemas (core.params, no TensorFlow) and the gans configs agree on names, defaults and bounds."""

import dataclasses

import pytest
from marshmallow import validate

from core.params import TRAIN_PARAMS
from gans.contract import params_of
from gans.registry import declaration, get_spec, model_names

NOT_EXPOSED = {"jit_compile", "class_names"}  # a deployment setting; filled from the dataset
# The API's floors on what makes a file and a row each (core.params.MIN_SAMPLE_EVERY_STEPS): a house policy
# on top of the model's own bounds, so not part of the declaration.
API_FLOORS = {"sample_every_steps": {"min": 50}}


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


def _api_bounds(field: object) -> dict:
    """The bounds a marshmallow field of core.params enforces, in gans.contract.param's terms."""
    bounds = {"min": None, "max": None, "min_exclusive": False, "max_exclusive": False, "choices": None}
    for validator in field.validators:  # type: ignore[attr-defined]
        if isinstance(validator, validate.Range):
            bounds |= {"min": validator.min, "max": validator.max, "min_exclusive": not validator.min_inclusive,
                       "max_exclusive": not validator.max_inclusive}
        elif isinstance(validator, validate.OneOf):
            bounds["choices"] = tuple(validator.choices)
    return bounds


@pytest.mark.parametrize("model", sorted(TRAIN_PARAMS))
def test_declared_bounds_are_the_api_schemas(model: str) -> None:
    schema = TRAIN_PARAMS[model]()
    for info in params_of(declaration(model).config_type):
        declared = {"min": info.min, "max": info.max, "min_exclusive": info.min_exclusive,
                    "max_exclusive": info.max_exclusive, "choices": info.choices}
        declared |= API_FLOORS.get(info.name, {})
        assert declared == _api_bounds(schema.fields[info.name]), f"{model}.{info.name}"
        assert info.nullable == schema.fields[info.name].allow_none, f"{model}.{info.name}"
