"""DCGANConfig: defaults, round trip and validation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from gans.configs.dcgan import DCGANConfig
from gans.errors import ConfigError


def test_defaults_are_valid_and_round_trip() -> None:
    config = DCGANConfig()
    assert config.validate() is config
    assert DCGANConfig.from_dict(config.to_dict()) == config


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(TypeError):
        DCGANConfig.from_dict({"image_size": 64, "learning_rate": 1e-3})


def test_importing_config_does_not_import_tensorflow() -> None:
    code = "import sys, gans, gans.config; assert 'tensorflow' not in sys.modules, 'tf imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("changes", [
    {"image_size": 48}, {"image_size": "64"}, {"image_size": True},
    {"z_dim": 0}, {"g_filters": -1}, {"d_filters": 0}, {"kernel_size": 0},
    {"batch_size": 0}, {"epochs": 0}, {"epochs": 1.5}, {"max_steps": 0},
    {"lr_d": 0.0}, {"lr_g": -1e-4}, {"lr_g": float("nan")}, {"beta1": 1.0},
    {"label_smoothing": 0.0}, {"label_smoothing": 1.1}, {"ema_decay": 1.0},
    {"ema_decay": -0.1}, {"profile": "fast"}, {"max_minutes": 0}, {"lr_floor": 1.5},
    {"checkpoint_every_epochs": 0}, {"sample_every_steps": 0},
    {"seed": -1}, {"diffaugment": "yes"}, {"jit_compile": 1},
    {"image_size": 128, "g_filters": 24},  # 24 cannot halve four times
])
def test_validate_rejects_bad_values(changes: dict) -> None:
    config = dataclasses.replace(DCGANConfig(), **changes)
    with pytest.raises(ConfigError, match=next(iter(changes))):
        config.validate()


@pytest.mark.parametrize("changes", [
    {"label_smoothing": 1.0}, {"ema_decay": 0.999}, {"ema_decay": 0.0},
    {"max_minutes": 0.01}, {"max_steps": 1}, {"beta1": 0.0},
    {"image_size": 32, "g_filters": 8},  # the smallest width: halves twice, 8 -> 4 -> 2
])
def test_validate_accepts_edge_values(changes: dict) -> None:
    dataclasses.replace(DCGANConfig(), **changes).validate()
