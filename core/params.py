"""Train and generate job parameters: validation and documented defaults, per model.

The API resolves a request's params against these schemas and stores the full result
(defaults filled in, a random seed drawn when none was given) in the job row, so the worker
and anyone reading the job later see exactly what ran.
"""

from __future__ import annotations

import secrets
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.errors import InvalidInput

POSITIVE = validate.Range(min=1)
# floors on what makes one file and row each: a sample sheet per `sample_every_steps` steps (a run also makes one
# at its end), a zip shard per `shard_size` images; below them a job makes a row and a file per step or image
MIN_SAMPLE_EVERY_STEPS = 50
MIN_SHARD_SIZE = 100


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


LEARNING_RATE = validate.Range(min=0, max=1, min_inclusive=False)
BETA1 = validate.Range(min=0, max=1, max_inclusive=False)


class TrainParams(Schema):
    """What every model's train job shares: schedule, bookkeeping, guard (gans.config.TrainingConfig)."""

    epochs = StrictInt(load_default=10, validate=validate.Range(min=1, max=100_000))
    max_steps = StrictInt(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100_000_000))
    max_seconds = StrictFloat(load_default=None, allow_none=True, validate=validate.Range(min=0, min_inclusive=False))
    batch_size = StrictInt(load_default=64, validate=validate.Range(min=1, max=4096))
    checkpoint_every_epochs = StrictInt(load_default=1, validate=POSITIVE)
    keep_checkpoints = StrictInt(load_default=3, validate=validate.Range(min=1, max=1000))
    sample_every_steps = StrictInt(load_default=100, validate=validate.Range(min=MIN_SAMPLE_EVERY_STEPS))
    swd_every_epochs = StrictInt(load_default=None, allow_none=True, validate=POSITIVE)
    quality_samples = StrictInt(load_default=256, validate=validate.Range(min=16, max=10_000))
    on_divergence = fields.String(load_default="fail", validate=validate.OneOf(["fail", "warn"]))
    seed = StrictInt(load_default=_random_seed, validate=validate.Range(min=0, max=2**31 - 1))


class DCGANParams(TrainParams):
    """CatDCGAN recipe defaults (at 64 px, the size of the bundled cat faces)."""

    image_size = StrictInt(load_default=64, validate=validate.OneOf([32, 64, 128]))
    z_dim = StrictInt(load_default=100, validate=validate.Range(min=1, max=4096))
    g_filters = StrictInt(load_default=1024, validate=validate.Range(min=8, max=4096))
    d_filters = StrictInt(load_default=64, validate=validate.Range(min=4, max=1024))
    kernel_size = StrictInt(load_default=5, validate=validate.Range(min=3, max=7))
    lr_d = StrictFloat(load_default=5e-5, validate=LEARNING_RATE)
    lr_g = StrictFloat(load_default=2e-4, validate=LEARNING_RATE)
    beta1 = StrictFloat(load_default=0.5, validate=BETA1)
    label_smoothing = StrictFloat(load_default=0.9, validate=validate.Range(min=0, max=1, min_inclusive=False))
    diffaugment = StrictBool(load_default=False)
    ema_decay = StrictFloat(load_default=None, allow_none=True,
                            validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False))


class Pix2PixParams(TrainParams):
    """pix2pix paper defaults (edges2cats at 256 px, batch 1)."""

    batch_size = StrictInt(load_default=1, validate=validate.Range(min=1, max=256))
    image_size = StrictInt(load_default=256, validate=validate.OneOf([64, 128, 256]))
    ngf = StrictInt(load_default=64, validate=validate.Range(min=4, max=512))
    ndf = StrictInt(load_default=64, validate=validate.Range(min=4, max=512))
    l1_lambda = StrictFloat(load_default=100.0, validate=validate.Range(min=0, max=10_000))
    lr_g = StrictFloat(load_default=2e-4, validate=LEARNING_RATE)
    lr_d = StrictFloat(load_default=2e-4, validate=LEARNING_RATE)
    beta1 = StrictFloat(load_default=0.5, validate=BETA1)
    source = fields.String(load_default="edges", validate=validate.OneOf(["edges", "ab"]))
    direction = fields.String(load_default="AtoB", validate=validate.OneOf(["AtoB", "BtoA"]))

    @validates_schema
    def _direction_needs_ab(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("source") == "edges" and data.get("direction") == "BtoA":
            raise ValidationError({"direction": ["Edge pairs are always sketch → photo (AtoB)."]})


class KerasGANParams(TrainParams):
    """The Keras GAN of "Deep Learning with Python" (CIFAR-10 frogs): 32x32, RMSprop, label noise."""

    batch_size = StrictInt(load_default=20, validate=validate.Range(min=1, max=4096))
    latent_dim = StrictInt(load_default=32, validate=validate.Range(min=1, max=4096))
    image_size = StrictInt(load_default=32, validate=validate.OneOf([32, 64, 128]))
    channels = StrictInt(load_default=3, validate=validate.OneOf([1, 3]))
    lr_d = StrictFloat(load_default=8e-4, validate=LEARNING_RATE)
    lr_g = StrictFloat(load_default=4e-4, validate=LEARNING_RATE)
    clipvalue = StrictFloat(load_default=1.0, validate=validate.Range(min=0, min_inclusive=False))
    label_noise = StrictFloat(load_default=0.05, validate=validate.Range(min=0, max=0.5))
    dropout = StrictFloat(load_default=0.4, validate=validate.Range(min=0, max=1, max_inclusive=False))


class MLPGANParams(TrainParams):
    """The minimal fully connected GAN: 28x28 grey."""

    z_dim = StrictInt(load_default=100, validate=validate.Range(min=1, max=4096))
    hidden_units = StrictInt(load_default=128, validate=validate.Range(min=1, max=8192))
    hidden_layers = StrictInt(load_default=2, validate=validate.Range(min=1, max=16))
    image_size = StrictInt(load_default=28, validate=validate.Range(min=8, max=128))
    lr_d = StrictFloat(load_default=2e-4, validate=LEARNING_RATE)
    lr_g = StrictFloat(load_default=2e-4, validate=LEARNING_RATE)
    beta1 = StrictFloat(load_default=0.5, validate=BETA1)


class CGANParams(TrainParams):
    """The conditional GAN (keras-io conditional_gan): class folders, 28x28 grey by default."""

    image_size = StrictInt(load_default=28, validate=validate.OneOf([28, 32, 64]))
    channels = StrictInt(load_default=1, validate=validate.OneOf([1, 3]))
    z_dim = StrictInt(load_default=100, validate=validate.Range(min=1, max=4096))
    g_filters = StrictInt(load_default=128, validate=validate.Range(min=4, max=2048))
    d_filters = StrictInt(load_default=64, validate=validate.Range(min=4, max=1024))
    lr_d = StrictFloat(load_default=3e-4, validate=LEARNING_RATE)
    lr_g = StrictFloat(load_default=3e-4, validate=LEARNING_RATE)
    beta1 = StrictFloat(load_default=0.5, validate=BETA1)


TRAIN_PARAMS: dict[str, type[Schema]] = {
    "dcgan": DCGANParams,
    "keras-gan": KerasGANParams,
    "mlp-gan": MLPGANParams,
    "cgan": CGANParams,
    "pix2pix": Pix2PixParams,
}


def train_models() -> list[str]:
    """The model names a train job may ask for."""
    return sorted(TRAIN_PARAMS)


def resolve_train_params(model: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate `params` for `model` and fill in defaults.

    Raises:
        InvalidInput: unknown model, unknown fields, wrong types or out-of-range values.
    """
    if model not in TRAIN_PARAMS:
        raise InvalidInput(
            f"unknown model {model!r}; choose one of {', '.join(train_models())}",
            code="unknown_model",
            fields={"model": [f"Must be one of: {', '.join(train_models())}."]},
        )
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params must be an object", fields={"params": ["Not a valid mapping type."]})
    try:
        return TRAIN_PARAMS[model]().load(params or {})
    except ValidationError as exc:
        raise InvalidInput(_describe(exc.messages, "params"), fields={"params": exc.messages}) from exc


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
