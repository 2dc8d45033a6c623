"""broken-step's keras.Model and SPEC: tiny-cgan with a train step that raises ValueError, as a NumPy bug would."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import tensorflow as tf

from tests.support.broken_step import BUG
from tests.support.broken_step.declaration import DECLARATION
from tests.support.tiny_cgan import spec as tiny


class BrokenStep(tiny.TinyCGAN):
    """tiny-cgan whose first train step fails with a ValueError nobody anticipated."""

    def train_step(self, batch: Any) -> dict[str, tf.Tensor]:
        raise ValueError(BUG)


SPEC = dataclasses.replace(tiny.SPEC, declaration=DECLARATION,
                           build=functools.partial(tiny.build, model_type=BrokenStep))
