"""Hyper-parameters of the GANs, as plain dataclasses (no TensorFlow import here).

The API and the database validate and store these without loading TensorFlow, so this module
must stay importable on its own.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

IMAGE_SIZES = (32, 64, 128)


DIVERGENCE_ACTIONS = ("fail", "warn")


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """The fields every model's config shares: schedule, bookkeeping, guards (defaults commented)."""

    batch_size: int = 64
    epochs: int = 10  # the run's target; a resumed run continues to it, it does not add this many
    max_steps: int | None = None  # stop after this many optimizer steps overall (None: epochs)
    max_seconds: float | None = None  # wall-clock budget of one run; reaching it ends the run normally
    checkpoint_every_epochs: int = 1
    keep_checkpoints: int = 3  # the newest K checkpoints stay on disk (plus the best by SWD)
    sample_every_steps: int = 100
    swd_every_epochs: int | None = None  # also measure the sliced Wasserstein distance every N epochs
    quality_samples: int = 256  # images per set for the sliced Wasserstein distance
    on_divergence: str = "fail"  # "fail" stops the job on NaN/inf, a stuck D or mode collapse; "warn" flags it
    seed: int = 0  # same seed + same data = same run, also across a resume
    jit_compile: bool = False  # XLA; about 10x slower on a small CPU, so off by default

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, the inverse of from_dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Build a config from a dict; unknown keys raise TypeError so typos are not ignored."""
        return cls(**d)

    def validate_training(self) -> None:
        """Raise ValueError naming the first bad common field."""
        for name in ("batch_size", "epochs", "checkpoint_every_epochs", "keep_checkpoints",
                     "sample_every_steps", "quality_samples"):
            _check_positive_int(name, getattr(self, name))
        for name in ("max_steps", "swd_every_epochs"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        if self.max_seconds is not None:
            _check_in_range("max_seconds", self.max_seconds, 0.0, math.inf, "> 0")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.on_divergence not in DIVERGENCE_ACTIONS:
            raise ValueError(f"on_divergence must be one of {DIVERGENCE_ACTIONS}, got {self.on_divergence!r}")
        if not isinstance(self.jit_compile, bool):
            raise ValueError(f"jit_compile must be true or false, got {self.jit_compile!r}")


@dataclass(frozen=True, kw_only=True)
class DCGANConfig(TrainingConfig):
    """Everything that defines one DCGAN run; the defaults are the CatDCGAN recipe at 64 px."""

    image_size: int = 64  # 32, 64 or 128; output (image_size, image_size, 3)
    z_dim: int = 100  # length of the latent vector z
    g_filters: int = 1024  # channels of G's first (8x8) feature map; halves each up-sampling stage
    d_filters: int = 64  # channels of the discriminator's first conv; doubles each stage
    kernel_size: int = 5  # of every (transposed) conv; 4 is ~1.5x cheaper (the narrow CPU variant)
    lr_d: float = 5e-5  # the recipe's D rate, 4x below G's, so that D does not overpower G
    lr_g: float = 2e-4
    beta1: float = 0.5  # Adam's first-moment decay; 0.9 makes GAN training oscillate
    label_smoothing: float = 0.9  # target for real images in D's loss (one-sided)
    diffaugment: bool = False  # DiffAugment (colour, translation, cutout) on every image D sees
    ema_decay: float | None = None  # e.g. 0.999: keep an EMA copy of G, used for samples and export

    @property
    def generator_stages(self) -> int:
        """Return the number of stride-2 up-sampling stages from 8x8 to image_size."""
        return int(math.log2(self.image_size // 8))

    def validate(self) -> DCGANConfig:
        """Raise ValueError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        if not _is_int(self.image_size) or self.image_size not in IMAGE_SIZES:
            raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {self.image_size!r}")
        for name in ("z_dim", "g_filters", "d_filters", "kernel_size"):
            _check_positive_int(name, getattr(self, name))
        # Every up-sampling stage halves the channels; the last one must keep >= 1.
        hidden = self.generator_stages
        if self.g_filters % 2**hidden:
            raise ValueError(f"g_filters must be divisible by {2**hidden} at image_size "
                             f"{self.image_size} (it halves {hidden} times), got {self.g_filters}")
        for name in ("lr_d", "lr_g"):
            _check_in_range(name, getattr(self, name), 0.0, math.inf, "> 0")
        _check_in_range("beta1", self.beta1, 0.0, 1.0, "in [0, 1)", low_open=False, high_open=True)
        _check_in_range("label_smoothing", self.label_smoothing, 0.0, 1.0, "in (0, 1]",
                        high_open=False)
        if self.ema_decay is not None:
            _check_in_range("ema_decay", self.ema_decay, 0.0, 1.0, "in (0, 1) or None")
        if not isinstance(self.diffaugment, bool):
            raise ValueError(f"diffaugment must be true or false, got {self.diffaugment!r}")
        return self


def _is_int(value: Any) -> bool:
    """Tell ints from bools, which Python counts as ints."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_positive_int(name: str, value: Any) -> None:
    """Raise ValueError unless value is an int >= 1."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_in_range(name: str, value: Any, low: float, high: float, wording: str, *,
                    low_open: bool = True, high_open: bool = True) -> None:
    """Raise ValueError unless value is a real number in the given interval."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{name} must be a number {wording}, got {value!r}")
