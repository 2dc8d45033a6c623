"""pix2pix's config and declaration (TF-free): paired image-to-image translation, e.g. edges2cats or grey -> colour."""

from __future__ import annotations

from dataclasses import dataclass

from gans.config import BETA1, LEARNING_RATE, TrainingConfig
from gans.contract import ModelDeclaration, ModelKind, Signature, TensorField, param
from gans.errors import ConfigError

IMAGE_SIZES = (64, 128, 256)  # 256 is the recipe; 64 and 128 for CPU runs and tests
SOURCES = ("edges", "grayscale", "ab")
PHOTO_SOURCES = ("edges", "grayscale")  # pairs drawn from plain photos; direction is always AtoB
DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True, kw_only=True)
class Pix2PixConfig(TrainingConfig):
    """Everything that defines one pix2pix run; defaults are the paper's recipe at 256 px."""

    batch_size: int = param(1, min=1, max=256,
                            doc="the paper's 1: BatchNorm at batch 1 is per-image normalisation")
    image_size: int = param(256, choices=IMAGE_SIZES, doc="64, 128 or 256; the U-Net has log2(image_size) levels")
    ngf: int = param(64, min=4, max=512, doc="channels of G's first conv; doubles per level up to 8 * ngf")
    ndf: int = param(64, min=4, max=512, doc="channels of D's first conv; C64-C128-C256-C512")
    l1_lambda: float = param(100.0, min=0, max=10_000, doc="weight of the L1 term in G's loss (paper, 3.1 and 4)")
    lr_g: float = param(2e-4, **LEARNING_RATE, doc="Adam rate of G, as in the paper")
    lr_d: float = param(2e-4, **LEARNING_RATE, doc="Adam rate of D")
    beta1: float = param(0.5, **BETA1, doc="Adam's first-moment decay; 0.9 makes GAN training oscillate")
    source: str = param("edges", choices=SOURCES,
                        doc='"edges": sketch -> photo pairs drawn from plain photos; "grayscale": grey -> colour '
                            'pairs from plain photos (colourisation); "ab": side-by-side AB files')
    direction: str = param("AtoB", choices=DIRECTIONS, doc='for "ab": which half is the input')

    def validate(self) -> Pix2PixConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        if self.source in PHOTO_SOURCES and self.direction != "AtoB":
            raise ConfigError(f"direction must be 'AtoB' with source {self.source!r} (made from photos); "
                              "direction only chooses the half of 'ab' images")
        return self


def translation_signature(config: Pix2PixConfig) -> Signature:
    """Return the export's signature: image uint8 (N, S, S, 3) -> images uint8 (N, S, S, 3)."""
    shape = (None, config.image_size, config.image_size, 3)
    return Signature(inputs=(TensorField("image", "uint8", shape),),
                     outputs=(TensorField("images", "uint8", shape),))


DECLARATION = ModelDeclaration(
    name="pix2pix", kind=ModelKind.IMAGE_TO_IMAGE, config_type=Pix2PixConfig,
    summary="pix2pix (Isola et al. 2017): U-Net + PatchGAN translating sketches, grey photos or A halves into photos",
    signature=translation_signature)
