"""cgan's config and declaration (TF-free): the conditional GAN, class folders, (z, label) -> images.

`class_names` is not a user param: the house fills it from the data folder (gans.registry.make_config,
or gans.cgan.with_classes). An empty tuple means "not resolved yet": it passes validate() (so the
API can check a request before the data is unpacked), but build() refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gans.config import BETA1, LEARNING_RATE, TrainingConfig
from gans.contract import ModelDeclaration, ModelKind, Signature, TensorField, internal, param
from gans.errors import ConfigError

IMAGE_SIZES = (28, 32, 64)
MIN_CLASSES = 2


@dataclass(frozen=True, kw_only=True)
class CGANConfig(TrainingConfig):
    """Everything that defines one cGAN run; the defaults are keras-io's MNIST recipe."""

    class_names: tuple[str, ...] = internal((), doc="label i = class_names[i]; () until filled from the data")
    image_size: int = param(28, choices=IMAGE_SIZES, doc="28 (MNIST), 32 or 64 (one more up-sampling stage)")
    channels: int = param(1, choices=(1, 3), doc="1 grey (MNIST) or 3 RGB")
    z_dim: int = param(100, min=1, max=4096, doc="length of the latent vector z")
    g_filters: int = param(128, min=4, max=2048, doc="width of G's projection and transposed convs")
    d_filters: int = param(64, min=4, max=1024, doc="channels of D's first conv; doubles per stage")
    lr_d: float = param(3e-4, **LEARNING_RATE, doc="Adam rate of D (keras-io's 3e-4)")
    lr_g: float = param(3e-4, **LEARNING_RATE, doc="Adam rate of G")
    beta1: float = param(0.5, **BETA1, doc="Adam's first-moment decay; DCGAN's 0.5 oscillates less than 0.9")

    def __post_init__(self) -> None:
        # JSON (config.json, the API) brings a list; a tuple keeps the config hashable and equal.
        if isinstance(self.class_names, list):
            object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def num_classes(self) -> int:
        """Return K, the number of labels."""
        return len(self.class_names)

    @property
    def generator_stages(self) -> int:
        """Return the stride-2 stages: 2 at 28 and 32 px (from 7x7 / 8x8), 3 at 64 px."""
        return 3 if self.image_size == 64 else 2

    def validate(self) -> CGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        names = self.class_names
        if not isinstance(names, tuple) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"class_names must be a list of non-empty strings, got {names!r}")
        if len(set(names)) != len(names) or len(names) == 1:
            raise ConfigError(f"class_names must be empty (read from the data) or at least "
                              f"{MIN_CLASSES} distinct names, got {list(names)}")
        self.validate_training()
        return self


def conditional_signature(config: CGANConfig) -> Signature:
    """Return the export's signature: z float32 (N, z_dim), label int32 (N,) -> images uint8 (N, S, S, C)."""
    size = config.image_size
    return Signature(inputs=(TensorField("z", "float32", (None, config.z_dim)),
                             TensorField("label", "int32", (None,))),
                     outputs=(TensorField("images", "uint8", (None, size, size, config.channels)),))


DECLARATION = ModelDeclaration(
    name="cgan", kind=ModelKind.CONDITIONAL, config_type=CGANConfig,
    summary="Conditional GAN (Mirza & Osindero; keras-io): one class per sub-folder, draws the class asked for",
    signature=conditional_signature)
