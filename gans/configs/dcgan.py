"""DCGAN's config, declaration and hardware profiles (TF-free): CatDCGAN on image folders, z -> RGB images.

`profile` sizes the net for the hardware; the fields it decides are declared `X | None` ("None: the
profile decides") and `resolve_profile` fills only those a user left None:

- `classic`: the faithful CatDCGAN recipe (1024-channel 5x5 G, D rate 4x below G's, no DiffAugment, no EMA);
- `cpu`: sized for throughput on a few cores: 4x4 kernels, G ending on 32 channels (256 -> 32 at 64 px),
  D from 32, DiffAugment, an EMA generator (several times more images/s than classic, MODELS.md);
- `gpu`: twice as wide (G ending on 64 channels, D from 64), DiffAugment, EMA;
- `auto` (the default): `gpu` when the worker's TensorFlow sees a GPU, else `cpu`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from gans.config import BETA1, LEARNING_RATE, TrainingConfig, latent_signature, steps_per_call_param
from gans.contract import ModelDeclaration, ModelKind, param
from gans.errors import ConfigError
from gans.precision import CONCRETE_PRECISIONS, resolve_precision

IMAGE_SIZES = (32, 64, 128)
PROFILES = ("auto", "cpu", "gpu", "classic")
LOSSES = ("nonsaturating", "hinge", "ralsgan")  # gans.losses: what each one is
CONCRETE_PROFILES = ("cpu", "gpu", "classic")
PRE_PROFILE = "classic"  # what a run recorded before profiles existed was trained with
# G's last stage keeps this many channels; g_filters doubles per stage above it (classic: fixed 1024).
_LAST_G_CHANNELS = {"cpu": 32, "gpu": 64}
_PROFILE_VALUES: dict[str, dict[str, Any]] = {
    "classic": {"d_filters": 64, "kernel_size": 5, "lr_d": 5e-5, "lr_g": 2e-4, "diffaugment": False,
                "ema_decay": 0.0, "steps_per_call": 1},
    "cpu": {"d_filters": 32, "kernel_size": 4, "lr_d": 2e-4, "lr_g": 2e-4, "diffaugment": True,
            "ema_decay": 0.999, "steps_per_call": 1},
    "gpu": {"d_filters": 64, "kernel_size": 4, "lr_d": 2e-4, "lr_g": 2e-4, "diffaugment": True,
            "ema_decay": 0.999, "steps_per_call": 8},
}
PROFILE_FIELDS = ("g_filters", "d_filters", "kernel_size", "lr_d", "lr_g", "diffaugment", "ema_decay",
                  "steps_per_call")
_DECIDES = "; null: the profile decides"


@dataclass(frozen=True, kw_only=True)
class DCGANConfig(TrainingConfig):
    """Everything that defines one DCGAN run; `profile` fills the fields left null (see the module doc)."""

    profile: str = param("auto", choices=PROFILES,
                         doc='"cpu" (narrow 4x4 net, DiffAugment, EMA), "gpu" (wider), "classic" (the CatDCGAN '
                             'recipe) or "auto": gpu if the worker sees a GPU, else cpu; the job records the pick')
    image_size: int = param(64, choices=IMAGE_SIZES, doc="output (image_size, image_size, 3)")
    z_dim: int = param(100, min=1, max=4096, doc="length of the latent vector z")
    g_filters: int | None = param(None, min=8, max=4096,
                                  doc="channels of G's first (8x8) feature map; halves each up-sampling stage "
                                      "(classic 1024; cpu/gpu: G ends on 32/64 channels)" + _DECIDES)
    d_filters: int | None = param(None, min=4, max=1024,
                                  doc="channels of the discriminator's first conv; doubles each stage "
                                      "(classic 64, cpu 32, gpu 64)" + _DECIDES)
    kernel_size: int | None = param(None, min=3, max=7,
                                    doc="of every (transposed) conv (classic 5; cpu/gpu 4, ~1.5x cheaper)" + _DECIDES)
    lr_d: float | None = param(None, **LEARNING_RATE,
                               doc="Adam rate of D (classic 5e-5, 4x below G's; cpu/gpu 2e-4)" + _DECIDES)
    lr_g: float | None = param(None, **LEARNING_RATE, doc="Adam rate of the generator (2e-4)" + _DECIDES)
    beta1: float = param(0.5, **BETA1, doc="Adam's first-moment decay; 0.9 makes GAN training oscillate")
    label_smoothing: float = param(0.9, min=0, max=1, min_exclusive=True,
                                   doc="target for real images in D's loss (one-sided); only the nonsaturating loss "
                                       "uses it, hinge and ralsgan ignore it")
    diffaugment: bool | None = param(None, doc="DiffAugment (colour, translation, cutout) on every image D sees "
                                               "(classic off, cpu/gpu on)" + _DECIDES)
    ema_decay: float | None = param(None, min=0, max=1, max_exclusive=True,
                                    doc="e.g. 0.999: keep an EMA copy of G, used for samples and export; 0: none "
                                        "(classic 0, cpu/gpu 0.999)" + _DECIDES)
    loss: str = param("nonsaturating", choices=LOSSES,
                      doc='adversarial loss: "nonsaturating" (the DCGAN recipe, the only one using '
                          'label_smoothing), "hinge" or "ralsgan" (relativistic average least squares); '
                          'measured: no gain at equal wall time in 1-minute runs (MODELS.md)')
    r1_gamma: float = param(0.0, min=0, max=1000,
                            doc="weight of the R1 penalty (gamma/2 * |grad D(real)|^2, on the real images as D "
                                "sees them) in D's loss, every step; 0: off. Measured: no gain at equal wall time "
                                "in 1.5-minute runs (MODELS.md)")
    spectral_norm: bool = param(False, doc="spectral normalisation of D's convs and dense layer (one power "
                                           "iteration per call); D then has no BatchNorm and every conv a bias. "
                                           "Measured: no gain beyond seed noise at equal wall time in "
                                           "1.5-minute runs (MODELS.md)")
    reuse_fakes: bool = param(False, doc="one generator forward a step serves both updates, as in PyTorch's DCGAN "
                                         "example: D's step sees the fakes as constants, then G's step "
                                         "back-propagates through the same fakes into the updated D (its latents "
                                         "are the D step's). Off: the keras-io order, G's step on fresh latents "
                                         "(one more G forward; MODELS.md says what each step computes)")
    steps_per_call: int | None = steps_per_call_param(
        None, " (cpu, classic 1: measured no faster on CPU, where the step dwarfs the sync; gpu 8)" + _DECIDES)

    @property
    def generator_stages(self) -> int:
        """Return the number of stride-2 up-sampling stages from 8x8 to image_size."""
        return int(math.log2(self.image_size // 8))

    @property
    def resolved(self) -> bool:
        """Tell whether the profile has been applied (a concrete profile and precision, no field left to it)."""
        return (self.profile in CONCRETE_PROFILES and self.precision in CONCRETE_PRECISIONS
                and all(getattr(self, f) is not None for f in PROFILE_FIELDS))

    def validate(self) -> DCGANConfig:
        """Raise ConfigError naming the first bad field; return self so calls can chain."""
        self.validate_training()
        # Every up-sampling stage halves the channels; the last one must keep >= 1.
        hidden = self.generator_stages
        if self.g_filters is not None and self.g_filters % 2**hidden:
            raise ConfigError(f"g_filters must be divisible by {2**hidden} at image_size "
                              f"{self.image_size} (it halves {hidden} times), got {self.g_filters}")
        return self


def pick_profile(profile: str, has_gpu: bool) -> str:
    """Return the concrete profile `profile` stands for on a worker that does (not) see a GPU."""
    if profile == "auto":
        return "gpu" if has_gpu else "cpu"
    if profile not in CONCRETE_PROFILES:
        raise ConfigError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    return profile


def profile_values(profile: str, image_size: int) -> dict[str, Any]:
    """Return the values concrete `profile` gives the PROFILE_FIELDS at image_size."""
    stages = int(math.log2(image_size // 8))
    g_filters = 1024 if profile == "classic" else _LAST_G_CHANNELS[profile] * 2**stages
    return {"g_filters": g_filters, **_PROFILE_VALUES[profile]}


def resolve_profile(config: DCGANConfig, has_gpu: bool, recorded: dict[str, Any] | None = None) -> DCGANConfig:
    """Return config with its profile picked and the fields left None filled in (explicit values win).

    `recorded` is the config a run of the same folder stored (its config.json): a resumed run keeps what
    the first start picked and filled, whatever devices it sees now; a record from before profiles was
    trained with the classic recipe. "auto" precision is picked the same way (gans.precision). A resolved
    config resolves to itself.
    """
    config = resolve_precision(config, has_gpu, recorded)
    values = {f: getattr(config, f) for f in PROFILE_FIELDS}
    profile = config.profile
    if recorded is not None:
        if profile == "auto":
            profile = recorded.get("profile", PRE_PROFILE)
        values = {f: recorded.get(f) if v is None else v for f, v in values.items()}
        if "profile" not in recorded and values["ema_decay"] is None:
            values["ema_decay"] = 0.0  # recorded before profiles: null meant no EMA
    picked = pick_profile(profile, has_gpu)
    defaults = profile_values(picked, config.image_size)
    filled = {f: defaults[f] if v is None else v for f, v in values.items()}
    return dataclasses.replace(config, profile=picked, **filled).validate()


DECLARATION = ModelDeclaration(
    name="dcgan", kind=ModelKind.UNCONDITIONAL, config_type=DCGANConfig,
    summary="CatDCGAN: deep convolutional GAN on an image folder, RGB at 32, 64 or 128 px",
    signature=lambda config: latent_signature(config.z_dim, config.image_size, 3))
