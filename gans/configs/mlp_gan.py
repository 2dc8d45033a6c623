"""mlp-gan's config and declaration (TF-free): the minimal fully connected GAN on grey images."""

from __future__ import annotations

from dataclasses import dataclass

from gans.config import (
    BETA1,
    LEARNING_RATE,
    LIGHT_MEASURED,
    LIGHT_STEPS_PER_CALL,
    TrainingConfig,
    latent_signature,
    steps_per_call_param,
)
from gans.contract import ModelDeclaration, ModelKind, param

MIN_SIZE, MAX_SIZE = 8, 128  # image_size bounds: G's last layer has image_size**2 units


@dataclass(frozen=True, kw_only=True)
class MLPGANConfig(TrainingConfig):
    """Everything that defines one mlp-gan run; the defaults are the MNIST recipe."""

    z_dim: int = param(100, min=1, max=4096, doc="length of the latent vector z")
    hidden_units: int = param(128, min=1, max=8192, doc="width of every hidden layer of G and D")
    hidden_layers: int = param(2, min=1, max=16, doc="hidden layers in each net")
    image_size: int = param(28, min=MIN_SIZE, max=MAX_SIZE, doc="grey images image_size x image_size")
    lr_d: float = param(2e-4, **LEARNING_RATE, doc="Adam rate of D")
    lr_g: float = param(2e-4, **LEARNING_RATE, doc="Adam rate of G")
    beta1: float = param(0.5, **BETA1, doc="Adam's first-moment decay; 0.9 makes GAN training oscillate")
    steps_per_call: int = steps_per_call_param(LIGHT_STEPS_PER_CALL, LIGHT_MEASURED)

    def validate(self) -> MLPGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        return self


DECLARATION = ModelDeclaration(
    name="mlp-gan", kind=ModelKind.UNCONDITIONAL, config_type=MLPGANConfig,
    summary="The minimal fully connected GAN (Goodfellow et al. 2014): grey images, 28 px by default",
    signature=lambda config: latent_signature(config.z_dim, config.image_size, 1))
