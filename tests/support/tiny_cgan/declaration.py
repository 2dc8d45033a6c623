"""tiny-cgan's config and declaration (TF-free): (z, label) -> 16 px images of that class, from class folders."""

from __future__ import annotations

from dataclasses import dataclass

from gans.config import LEARNING_RATE, TrainingConfig
from gans.contract import ModelDeclaration, ModelKind, Signature, TensorField, internal, param
from gans.errors import ConfigError

IMAGE_SIZE = 16


@dataclass(frozen=True, kw_only=True)
class TinyCGANConfig(TrainingConfig):
    """A conditional GAN small enough to train in seconds on a CPU."""

    class_names: tuple[str, ...] = internal((), doc="label i = class_names[i]; () until filled from the data")
    channels: int = param(3, choices=(1, 3), doc="1 grey or 3 RGB")
    z_dim: int = param(8, min=1, max=64, doc="length of the latent vector z")
    width: int = param(8, min=1, max=64, doc="channels of both nets' one hidden feature map")
    lr_g: float = param(2e-3, **LEARNING_RATE, doc="Adam rate of G")
    lr_d: float = param(2e-3, **LEARNING_RATE, doc="Adam rate of D")

    def __post_init__(self) -> None:
        if isinstance(self.class_names, list):  # JSON brings a list
            object.__setattr__(self, "class_names", tuple(self.class_names))

    def validate(self) -> TinyCGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        if len(set(self.class_names)) != len(self.class_names) or len(self.class_names) == 1:
            raise ConfigError(f"class_names must be empty or at least 2 distinct names, got {self.class_names}")
        self.validate_training()
        return self


def signature(config: TinyCGANConfig) -> Signature:
    """Return the export's signature: z float32 (N, z_dim), label int32 (N,) -> images uint8 (N, 16, 16, C)."""
    return Signature(inputs=(TensorField("z", "float32", (None, config.z_dim)),
                             TensorField("label", "int32", (None,))),
                     outputs=(TensorField("images", "uint8", (None, IMAGE_SIZE, IMAGE_SIZE, config.channels)),))


DECLARATION = ModelDeclaration(name="tiny-cgan", kind=ModelKind.CONDITIONAL, config_type=TinyCGANConfig,
                               summary="a test's tiny conditional GAN (16 px)", signature=signature)
