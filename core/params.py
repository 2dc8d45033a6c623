"""Train and generate job parameters: validation and documented defaults, derived from each model's config.

A model's params have one source, its TF-free config dataclass (gans/configs/<name>.py, each user param
declared with gans.contract.param). The API's schema for a model is built from those declarations
(type, nullability, default, bounds, choices, doc) and the config's own `validate()` then checks the
cross-field rules, so a param added to a config is validated and documented with no other change.
Core adds only house policy: a random seed when none is given, and floors on what makes a file and a
row each. The full result (defaults filled in, the seed drawn) is stored in the job row, so the worker
and anyone reading the job later see exactly what ran.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from core.errors import InvalidInput
from gans.contract import ParamInfo, params_of
from gans.errors import ConfigError
from gans.registry import declaration, model_names

# floors on what makes one file and row each: a sample sheet per `sample_every_steps` steps (a run also makes one
# at its end), a zip shard per `shard_size` images; below them a job makes a row and a file per step or image.
# A house policy over every model's declared bounds (gans itself may sample every step, e.g. in its own tests).
MIN_SAMPLE_EVERY_STEPS = 50
MIN_SHARD_SIZE = 100
HOUSE_MINIMUMS = {"sample_every_steps": MIN_SAMPLE_EVERY_STEPS}


def _random_seed() -> int:
    return secrets.randbelow(2**31)


class StrictInt(fields.Integer):
    """An integer that refuses floats and strings instead of coercing them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class StrictFloat(fields.Float):
    """A number that refuses strings and booleans instead of coercing them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, (str, bool)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBool(fields.Boolean):
    """Only JSON true/false."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(truthy={True}, falsy={False}, **kwargs)


FIELD_TYPES: dict[type, type[fields.Field]] = {int: StrictInt, float: StrictFloat, bool: StrictBool,
                                               str: fields.String}


def param_field(info: ParamInfo) -> fields.Field:
    """Return the marshmallow field of one declared param: its type, default, bounds, choices and doc."""
    validators: list[Any] = []
    low, low_exclusive = _lower_bound(info)
    if low is not None or info.max is not None:
        validators.append(validate.Range(min=low, max=info.max, min_inclusive=not low_exclusive,
                                         max_inclusive=not info.max_exclusive))
    if info.choices is not None:
        validators.append(validate.OneOf(list(info.choices)))
    default = _random_seed if info.name == "seed" else info.default  # core draws the seed none was given for
    return FIELD_TYPES[info.type](load_default=default, allow_none=info.nullable, validate=validators,
                                  metadata={"description": info.doc})


def _lower_bound(info: ParamInfo) -> tuple[float | None, bool]:
    """Return the param's lower bound and whether it is exclusive: the declared one, or the house floor above it."""
    floor = HOUSE_MINIMUMS.get(info.name)
    if floor is not None and (info.min is None or floor > info.min):
        return floor, False
    return info.min, info.min_exclusive


@lru_cache(maxsize=None)
def _schema_of(config_type: type, model: str) -> type[Schema]:
    """Return the schema class of a config type, built once (the OpenAPI document names it)."""
    name = "".join(part.capitalize() for part in model.replace("_", "-").split("-")) + "TrainParams"
    schema = Schema.from_dict({info.name: param_field(info) for info in params_of(config_type)}, name=name)
    schema.__doc__ = declaration(model).summary
    return schema


def train_schema(model: str) -> type[Schema]:
    """Return the params schema of a registered model, derived from its config's declared params.

    Raises:
        InvalidInput: unknown_model, listing the registered ones.
    """
    try:
        found = declaration(model)
    except KeyError as exc:
        raise InvalidInput(f"unknown model {model!r}; choose one of {', '.join(train_models())}",
                           code="unknown_model",
                           fields={"model": [f"Must be one of: {', '.join(train_models())}."]}) from exc
    return _schema_of(found.config_type, model)


def train_models() -> list[str]:
    """The model names a train job may ask for (the registry's, extra models included)."""
    return model_names()


def resolve_train_params(model: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate `params` for `model` against its declared params and config rules, and fill in defaults.

    Raises:
        InvalidInput: unknown model, unknown fields, wrong types, out-of-range values or broken cross-field rules.
    """
    schema = train_schema(model)
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params must be an object", fields={"params": ["Not a valid mapping type."]})
    try:
        resolved = schema().load(params or {})
    except ValidationError as exc:
        raise InvalidInput(_describe(exc.messages, "params"), fields={"params": exc.messages}) from exc
    _check_config(declaration(model).config_type, resolved)
    return resolved


def _check_config(config_type: type, resolved: dict[str, Any]) -> None:
    """Run the config's own validate() (cross-field rules); its error becomes a 422 on the field it names."""
    try:
        config_type(**resolved).validate()
    except (ConfigError, ValueError, TypeError) as exc:
        message = str(exc)
        named = message.split(" ", 1)[0]
        field = named if named in resolved else "_schema"
        raise InvalidInput(f"params.{field}: {message}", fields={"params": {field: [message]}}) from exc


def check_shard_size(*, shard_size: int, count: int) -> None:
    """Refuse shards smaller than MIN_SHARD_SIZE images (or than the whole job, when it is smaller).

    Raises:
        InvalidInput: 422 on `shard_size`.
    """
    floor = min(MIN_SHARD_SIZE, max(count, 1))
    if shard_size < floor:
        raise InvalidInput(f"shard_size must be at least {floor} for a job of {count} images (each shard is a file "
                           f"and a row), not {shard_size}", fields={"shard_size": [f"Must be at least {floor}."]})


def _describe(messages: Any, prefix: str) -> str:
    """One readable line from marshmallow's nested messages."""
    if isinstance(messages, dict):
        return "; ".join(_describe(v, f"{prefix}.{k}") for k, v in messages.items())
    if isinstance(messages, list):
        return f"{prefix}: {' '.join(str(m) for m in messages)}"
    return f"{prefix}: {messages}"
