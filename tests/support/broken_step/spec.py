"""broken-step's keras.Model and SPEC: tiny-cgan with a train step that raises ValueError, as a NumPy bug would."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import tensorflow as tf

from gans.errors import ConfigError
from tests.support.broken_step import BUG
from tests.support.broken_step.declaration import DECLARATION
from tests.support.tiny_cgan import spec as tiny
from tests.support.tiny_cgan.declaration import TinyCGANConfig


class BrokenStep(tiny.TinyCGAN):
    """tiny-cgan whose first train step fails with a ValueError nobody anticipated."""

    def train_step(self, batch: Any) -> dict[str, tf.Tensor]:
        raise ValueError(BUG)


def build(config: TinyCGANConfig) -> BrokenStep:
    """Build and compile as tiny-cgan does (weights seeded), with the broken step."""
    config.validate()
    if not config.class_names:
        raise ConfigError("class_names is empty: fill it from the data first")
    keras.utils.set_random_seed(config.seed)
    model = BrokenStep(config)
    model.compile(d_optimizer=keras.optimizers.Adam(config.lr_d), g_optimizer=keras.optimizers.Adam(config.lr_g))
    return model


SPEC = dataclasses.replace(tiny.SPEC, declaration=DECLARATION, build=build)
