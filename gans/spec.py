"""What the generic trainer needs of a GAN, and how each model plugs in (see gans/registry.py).

A model is a `keras.Model` subclass (keras-io style: nets built by plain functions, its own
`compile`, a short `train_step`) that also implements `TrainableGAN`. Everything about its data,
sample sheets, quality images and export lives in its `ModelSpec`, so `gans/train.py` can train,
checkpoint, resume, sample and guard every model the same way; what the rest of the house needs
to know of it (kind, params, export signature) is its `ModelDeclaration` (gans.contract).

Adding a model, every one the same shape:
- `gans/configs/<name>.py` (TF-free): the config (a gans.config.TrainingConfig subclass, every user
  param declared with gans.contract.param) and `DECLARATION`;
- `gans/nets/<name>.py`: the network builders, importing only the config module and shared layers;
- `gans/<name>.py`: the keras.Model (usually a gans.two_player.TwoPlayerGAN) and `SPEC`, exporting
  through gans.export.export_declared so the SavedModel serves exactly `DECLARATION.signature(config)`;
- an entry in gans/registry.py (or `gans.registry.register(...)` from anywhere);
- tests for shapes, exact resume through `tf.train.Checkpoint(**model.trackables())` and the export
  (tests/unit/gans/test_gans_contract.py checks its signature against the declaration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gans.contract import ModelDeclaration


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

    declaration: ModelDeclaration  # name, kind, config type and export signature (TF-free)
    build: Callable[[Any], TrainableGAN]  # config → compiled model, weights seeded by config.seed
    count_examples: Callable[[Any, Path], int]  # (config, data_dir) → examples per epoch (DatasetError if too few)
    epoch_dataset: Callable[[Any, Path, int], Any]  # (config, data_dir, epoch) → tf.data batches of that epoch,
    #                                                 the same for the same (seed, epoch): resume replays it
    sample_inputs: Callable[[Any, Path], Any]  # fixed inputs of the progress sheet (latents, labels, edge images)
    sample_sheet: Callable[[Any, Any], np.ndarray]  # (model, inputs) → uint8 (H, W, C) sheet, inference mode
    quality_images: Callable[[Any, Any, Path, int], tuple[np.ndarray, np.ndarray]]
    #   (model, config, data_dir, n) → (real, generated) uint8 (n, H, W, C) sets for the sliced Wasserstein distance
    export: Callable[[Any, Any, Path, dict[str, Any]], None]  # (model, config, export_dir, metadata) → SavedModel
    # (config, has_gpu, recorded config.json of this run or None) → the config with its profile applied and the
    # fields left to it filled (models without profiles: None). The trainer records the result in config.json.
    resolve: Callable[[Any, bool, dict[str, Any] | None], Any] | None = None
    # (config, data_dir, n) → n uint8 training images, the real-vs-real floor's other set (None: no floor)
    training_images: Callable[[Any, Path, int], np.ndarray] | None = None
    # the model's step is split for several devices (gans.replicas.ReplicatedModel): a worker seeing more than
    # one GPU trains it mirrored on all of them; other models train on one
    replicas: bool = False

    @property
    def name(self) -> str:
        """Return the API's `model` value, e.g. "dcgan"."""
        return self.declaration.name

    @property
    def config_type(self) -> type:
        """Return the model's frozen config dataclass (see gans.config.TrainingConfig)."""
        return self.declaration.config_type
