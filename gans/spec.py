"""What the generic trainer needs of a GAN, and how each model plugs in (see gans/registry.py).

A model is a `keras.Model` subclass (keras-io style: nets built by plain functions, its own
`compile`, a short `train_step`) that also implements `TrainableGAN`. Everything about its data,
sample sheets, quality images and export lives in its `ModelSpec`, so `gans/train.py` can train,
checkpoint, resume, sample and guard every model the same way.

Adding a model: a module `gans/<name>.py` with its config (a TrainingConfig subclass), its keras.Model
(usually a gans.two_player.TwoPlayerGAN) and `SPEC`; an entry in gans/registry.py; its params in
core/params.py (tests/unit/gans/test_gans_params_match.py keeps both in step); tests for shapes, exact
resume through `tf.train.Checkpoint(**model.trackables())` and the export loaded in a fresh process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class TrainableGAN(Protocol):
    """The trainer's view of a compiled GAN."""

    def train_step(self, batch: Any) -> dict[str, Any]:
        """One optimizer round on one batch; returns scalar tensors, at least "g_loss" and "d_loss"."""

    def trackables(self) -> dict[str, Any]:
        """Everything a checkpoint must hold for an exact resume: nets, optimizers, EMA copies, the rng.

        The trainer adds its own step/epoch counters. Optimizer variables must already exist (build them
        in `compile`), so a restore fills them at once instead of waiting for the first step.
        """


@dataclass(frozen=True)
class ModelSpec:
    """How one model plugs into the trainer, the worker and the export. `config` is the model's dataclass."""

    name: str  # the API's `model` value, e.g. "dcgan"
    config_type: type  # a frozen dataclass with the common training fields (see gans.config.TrainingConfig)
    build: Callable[[Any], TrainableGAN]  # config → compiled model, weights seeded by config.seed
    count_examples: Callable[[Any, Path], int]  # (config, data_dir) → examples per epoch (ValueError if none)
    epoch_dataset: Callable[[Any, Path, int], Any]  # (config, data_dir, epoch) → tf.data batches of that epoch,
    #                                                 the same for the same (seed, epoch): resume replays it
    sample_inputs: Callable[[Any, Path], Any]  # fixed inputs of the progress sheet (latents, labels, edge images)
    sample_sheet: Callable[[Any, Any], np.ndarray]  # (model, inputs) → uint8 (H, W, C) sheet, inference mode
    quality_images: Callable[[Any, Any, Path, int], tuple[np.ndarray, np.ndarray]]
    #   (model, config, data_dir, n) → (real, generated) uint8 (n, H, W, C) sets for the sliced Wasserstein distance
    export: Callable[[Any, Any, Path, dict[str, Any]], None]  # (model, config, export_dir, metadata) → SavedModel
