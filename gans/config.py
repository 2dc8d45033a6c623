"""The fields every model's config shares, and the checks configs run (no TensorFlow import here).

The API and the database validate and store configs without loading TensorFlow, so this module
must stay importable on its own. Each model's own config lives in gans/configs/<name>.py; every
user param is declared with gans.contract.param, whose bounds `check_params` enforces.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from gans.contract import ParamInfo, Signature, TensorField, internal, is_param, param, param_info
from gans.errors import ConfigError
from gans.precision import DOC as PRECISION_DOC
from gans.precision import PRECISIONS

DIVERGENCE_ACTIONS = ("fail", "warn")
MAX_STEPS_PER_CALL = 1000
# mlp-gan's steps_per_call: what a call per step costs shows on its steps of a few ms
LIGHT_STEPS_PER_CALL = 8
LIGHT_MEASURED = (" (measured: mlp-gan's 5.5 ms steps on 2 CPU cores ran 1.14x the images/s of a call per "
                  "step, 1.18x at 32)")
MAX_SEED = 2**31 - 1
# Bounds shared by the models' param() declarations: param(2e-4, **LEARNING_RATE).
LEARNING_RATE: dict[str, Any] = {"min": 0, "max": 1, "min_exclusive": True}  # (0, 1]
BETA1: dict[str, Any] = {"min": 0, "max": 1, "max_exclusive": True}  # [0, 1): Adam's first-moment decay


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """The fields every model's config shares: schedule, bookkeeping, guards."""

    batch_size: int = param(64, min=1, max=4096, doc="images per optimizer step")
    epochs: int = param(10, min=1, max=100_000,
                        doc="the run's target; a resumed run continues to it, it does not add this many")
    max_steps: int | None = param(None, min=1, max=100_000_000,
                                  doc="stop after this many optimizer steps overall (null: run the epochs)")
    max_seconds: float | None = param(None, min=0, min_exclusive=True,
                                      doc="wall-clock budget of one run; reaching it ends the run normally")
    checkpoint_every_epochs: int = param(1, min=1, doc="save a checkpoint every N epochs")
    max_minutes: float | None = param(None, min=0, min_exclusive=True,
                                      doc="train for this long: after a short warm-up the run fixes its planned "
                                          "steps to fit, decays the learning rates to lr_floor by then and ends "
                                          "there (epochs no longer bound it; max_steps and max_seconds still do)")
    lr_floor: float = param(0.1, min=0, max=1,
                            doc="with max_minutes: the learning rates' cosine decay ends at this fraction of them")
    planned_steps: int | None = internal(None, doc="max_minutes' plan: the step the run ends at; recorded in "
                                                   "config.json, so a resumed run keeps it")
    planned_from: int | None = internal(None, doc="the step the plan was made at; the decay runs from it")
    plan_start_factor: float = internal(1.0, doc="the rates' factor at planned_from (below 1 after a re-plan)")
    earlier_plans: tuple[tuple[int, int, float], ...] = internal(
        (), doc="the plans a re-plan replaced, (planned_from, planned_steps, plan_start_factor) each, oldest first")
    keep_checkpoints: int = param(3, min=1, max=1000,
                                  doc="the newest K checkpoints stay on disk (plus the best by SWD)")
    sample_every_steps: int = param(100, min=1, doc="write a sample sheet every N steps")
    swd_every_epochs: int | None = param(None, min=1,
                                         doc="also measure the sliced Wasserstein distance every N epochs")
    quality_samples: int = param(256, min=16, max=10_000, doc="images per set for the sliced Wasserstein distance")
    on_divergence: str = param("fail", choices=DIVERGENCE_ACTIONS,
                               doc='"fail" stops the job on NaN/inf, a stuck D or mode collapse; "warn" flags it')
    seed: int = param(0, min=0, max=MAX_SEED, doc="same seed + same data = same run, also across a resume "
                      "(the API draws one when none is given)")
    precision: str = param("auto", choices=PRECISIONS, doc=PRECISION_DOC)
    jit_compile: bool = internal(False, doc="XLA, a deployment setting; off: the cpu-profile DCGAN step ran at "
                                           "0.54x float32's speed under XLA on 2 CPU cores (BENCHMARKS.md)")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, the inverse of from_dict."""
        return dataclasses.asdict(self) | {"earlier_plans": [list(plan) for plan in self.earlier_plans]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Build a config from a dict; unknown keys raise TypeError so typos are not ignored."""
        if "earlier_plans" in d:
            d = d | {"earlier_plans": tuple((int(a), int(b), float(f)) for a, b, f in d["earlier_plans"])}
        return cls(**d)

    def validate_training(self) -> None:
        """Raise ConfigError naming the first field outside its declared type or bounds."""
        check_params(self)


def steps_per_call_param(default: int, measured: str = "") -> Any:
    """Declare a model's steps_per_call (gans.chunks: K train steps per compiled call) with its default."""
    return param(default, min=1, max=MAX_STEPS_PER_CALL, doc=(
        "train steps per compiled call: losses come back from the device once per call, not after every "
        "step. Sample sheets, epoch ends, checkpoints and the run's end land on the same steps and the run is "
        "the same bit for bit whatever its value; stop requests and the time budget are checked between calls, "
        "so a cancel takes effect up to this many steps later. 1: a call per step" + measured))


def check_params(config: Any) -> None:
    """Raise ConfigError naming the first field of config whose value breaks its declaration.

    Params are checked against their type and param() bounds; internal fields of a plain type
    (int, float, bool, str) against their type only.
    """
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if is_param(f):
            check_param(param_info(f, hints[f.name]), value)
        elif hints[f.name] in (int, float, bool, str):
            check_type(f.name, value, hints[f.name])


def check_param(info: ParamInfo, value: Any) -> None:
    """Raise ConfigError unless value fits the param's type, choices and bounds."""
    if value is None and info.nullable:
        return
    check_type(info.name, value, info.type, nullable=info.nullable)
    if info.choices is not None and value not in info.choices:
        raise ConfigError(f"{info.name} must be one of {list(info.choices)}, got {value!r}")
    if info.type in (int, float):
        low = -math.inf if info.min is None else info.min
        high = math.inf if info.max is None else info.max
        ok = (value > low if info.min_exclusive else value >= low) and (
            value < high if info.max_exclusive else value <= high)
        if not ok:
            raise ConfigError(f"{info.name} must be {describe_range(info)}, got {value!r}")


def check_type(name: str, value: Any, kind: type, *, nullable: bool = False) -> None:
    """Raise ConfigError unless value is of kind (an int for float too; bools are not numbers; floats finite)."""
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = is_int(value)
    elif kind is float:
        ok = is_number(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        wording = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}[kind]
        raise ConfigError(f"{name} must be {wording}{' or null' if nullable else ''}, got {value!r}")


def describe_range(info: ParamInfo) -> str:
    """Return the param's bounds in words, e.g. 'a number in (0, 1]' or 'an integer >= 1'."""
    noun = "an integer" if info.type is int else "a number"
    if info.min is not None and info.max is not None:
        return (f"{noun} in {'(' if info.min_exclusive else '['}{info.min}, "
                f"{info.max}{')' if info.max_exclusive else ']'}")
    if info.min is not None:
        return f"{noun} {'>' if info.min_exclusive else '>='} {info.min}"
    if info.max is not None:
        return f"{noun} {'<' if info.max_exclusive else '<='} {info.max}"
    return noun


def is_int(value: Any) -> bool:
    """Tell ints from bools, which Python counts as ints."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Tell finite real numbers (ints included) from bools, NaN, inf and everything else."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_positive_int(name: str, value: Any) -> None:
    """Raise ConfigError unless value is an int >= 1."""
    if not is_int(value) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def check_in_range(name: str, value: Any, low: float, high: float, wording: str, *,
                   low_open: bool = True, high_open: bool = True) -> None:
    """Raise ConfigError unless value is a real number in the given interval."""
    ok = is_number(value) and (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high)
    if not ok:
        raise ConfigError(f"{name} must be a number {wording}, got {value!r}")


def latent_signature(z_dim: int, image_size: int, channels: int) -> Signature:
    """Return an unconditional export's signature: z float32 (N, z_dim) -> images uint8 (N, S, S, C)."""
    return Signature(inputs=(TensorField("z", "float32", (None, z_dim)),),
                     outputs=(TensorField("images", "uint8", (None, image_size, image_size, channels)),))
