"""DCGAN's config and declaration (TF-free): CatDCGAN on image folders, z -> RGB images."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gans.config import BETA1, LEARNING_RATE, TrainingConfig, latent_signature
from gans.contract import ModelDeclaration, ModelKind, param
from gans.errors import ConfigError

IMAGE_SIZES = (32, 64, 128)


@dataclass(frozen=True, kw_only=True)
class DCGANConfig(TrainingConfig):
    """Everything that defines one DCGAN run; the defaults are the CatDCGAN recipe at 64 px."""

    image_size: int = param(64, choices=IMAGE_SIZES, doc="output (image_size, image_size, 3)")
    z_dim: int = param(100, min=1, max=4096, doc="length of the latent vector z")
    g_filters: int = param(1024, min=8, max=4096,
                           doc="channels of G's first (8x8) feature map; halves each up-sampling stage")
    d_filters: int = param(64, min=4, max=1024, doc="channels of the discriminator's first conv; doubles each stage")
    kernel_size: int = param(5, min=3, max=7,
                             doc="of every (transposed) conv; 4 is ~1.5x cheaper (the narrow CPU variant)")
    lr_d: float = param(5e-5, **LEARNING_RATE, doc="the recipe's D rate, 4x below G's, so that D does not overpower G")
    lr_g: float = param(2e-4, **LEARNING_RATE, doc="Adam rate of the generator")
    beta1: float = param(0.5, **BETA1, doc="Adam's first-moment decay; 0.9 makes GAN training oscillate")
    label_smoothing: float = param(0.9, min=0, max=1, min_exclusive=True,
                                   doc="target for real images in D's loss (one-sided)")
    diffaugment: bool = param(False, doc="DiffAugment (colour, translation, cutout) on every image D sees")
    ema_decay: float | None = param(None, min=0, max=1, min_exclusive=True, max_exclusive=True,
                                    doc="e.g. 0.999: keep an EMA copy of G, used for samples and export")

    @property
    def generator_stages(self) -> int:
        """Return the number of stride-2 up-sampling stages from 8x8 to image_size."""
        return int(math.log2(self.image_size // 8))

    def validate(self) -> DCGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        # Every up-sampling stage halves the channels; the last one must keep >= 1.
        hidden = self.generator_stages
        if self.g_filters % 2**hidden:
            raise ConfigError(f"g_filters must be divisible by {2**hidden} at image_size "
                              f"{self.image_size} (it halves {hidden} times), got {self.g_filters}")
        return self


DECLARATION = ModelDeclaration(
    name="dcgan", kind=ModelKind.UNCONDITIONAL, config_type=DCGANConfig,
    summary="CatDCGAN: deep convolutional GAN on an image folder, RGB at 32, 64 or 128 px",
    signature=lambda config: latent_signature(config.z_dim, config.image_size, 3))
