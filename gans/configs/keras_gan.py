"""keras-gan's config and declaration (TF-free): the GAN of "Deep Learning with Python" (CIFAR-10 frogs)."""

from __future__ import annotations

from dataclasses import dataclass

from gans.config import (
    LEARNING_RATE,
    TrainingConfig,
    latent_signature,
    steps_per_call_param,
)
from gans.contract import ModelDeclaration, ModelKind, param

IMAGE_SIZES = (32, 64, 128)


@dataclass(frozen=True, kw_only=True)
class KerasGANConfig(TrainingConfig):
    """Everything that defines one keras-gan run; the defaults are the book's."""

    batch_size: int = param(20, min=1, max=4096, doc="the book's 20 images per step")
    latent_dim: int = param(32, min=1, max=4096, doc="length of the latent vector")
    image_size: int = param(32, choices=IMAGE_SIZES, doc="the book's 32 (also 64 or 128: G starts at image_size / 2)")
    channels: int = param(3, choices=(1, 3), doc="3 (RGB) or 1 (grey; the data is converted)")
    lr_d: float = param(8e-4, **LEARNING_RATE, doc="RMSprop rate of D, twice G's")
    lr_g: float = param(4e-4, **LEARNING_RATE, doc="RMSprop rate of G")
    clipvalue: float = param(1.0, min=0, min_exclusive=True,
                             doc="every gradient element is clipped to [-clipvalue, clipvalue]")
    label_noise: float = param(0.05, min=0, max=0.5, doc="uniform [0, label_noise) added to every target of D")
    dropout: float = param(0.4, min=0, max=1, max_exclusive=True, doc="dropout rate before D's last layer")
    steps_per_call: int = steps_per_call_param(1, " (the book's nets: a step of tens of ms on CPU)")

    @property
    def z_dim(self) -> int:
        """Return latent_dim under the name the rest of the service uses for the latent size."""
        return self.latent_dim

    def validate(self) -> KerasGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        return self


DECLARATION = ModelDeclaration(
    name="keras-gan", kind=ModelKind.UNCONDITIONAL, config_type=KerasGANConfig,
    summary="Chollet's Keras GAN (Deep Learning with Python, 8.5): RMSprop, noisy labels, 32 px by default",
    signature=lambda config: latent_signature(config.latent_dim, config.image_size, config.channels))
