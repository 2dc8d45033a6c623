"""Building a model under its config's `precision` (gans.precision): a scoped Keras dtype policy and,
for mixed_float16, loss-scaled optimizers.

Keras layers read the global dtype policy when they are constructed and keep it, so setting it only while
a model's nets are built, and restoring it after, leaves every other model of the process as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

from gans.common import has_gpu
from gans.precision import pick_precision


def built_precision(precision: str) -> str:
    """Return the concrete precision a build uses ("auto" picked for this process's devices)."""
    return pick_precision(precision, has_gpu()) if precision == "auto" else pick_precision(precision, False)


@contextmanager
def precision_scope(precision: str) -> Iterator[str]:
    """Build layers under `precision`'s dtype policy inside the block; the policy before is restored after."""
    concrete = built_precision(precision)
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(concrete)
    try:
        yield concrete
    finally:
        keras.config.set_dtype_policy(before)


def precision_optimizer(optimizer: keras.optimizers.Optimizer, precision: str) -> keras.optimizers.Optimizer:
    """Return optimizer, wrapped in a LossScaleOptimizer under mixed_float16 (dynamic loss scale).

    A train step must then take its gradients of `optimizer.scale_loss(loss)`, which is the loss itself for
    an unwrapped optimizer; apply_gradients unscales them and skips a step whose gradients overflowed.
    """
    if built_precision(precision) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def adam_players(config: Any) -> dict[str, keras.optimizers.Optimizer]:
    """Return the two-player recipes' optimizers: Adam at config.lr_d / lr_g with config.beta1, each under
    config.precision (precision_optimizer), as compile(d_optimizer=..., g_optimizer=...) takes them."""
    return {f"{player}_optimizer": precision_optimizer(
        keras.optimizers.Adam(getattr(config, f"lr_{player}"), beta_1=config.beta1), config.precision)
        for player in ("d", "g")}
