"""DCGAN profiles: auto picks by the devices, explicit params win, a run records and keeps its pick."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gans.configs.dcgan import DCGANConfig, resolve_profile
from gans.errors import ConfigError


def test_auto_on_a_cpu_machine_is_the_narrow_cpu_recipe() -> None:
    config = resolve_profile(DCGANConfig(), has_gpu=False)
    assert config.profile == "cpu"
    assert (config.g_filters, config.d_filters, config.kernel_size) == (256, 32, 4)  # G 256 -> 32 at 64 px
    assert config.diffaugment is True and config.ema_decay == 0.999 and config.lr_d == config.lr_g == 2e-4


def test_auto_with_a_gpu_is_the_wider_gpu_recipe() -> None:
    config = resolve_profile(DCGANConfig(image_size=128), has_gpu=True)
    assert config.profile == "gpu"
    assert (config.g_filters, config.d_filters, config.kernel_size) == (1024, 64, 4)  # ends on 64 channels
    assert config.diffaugment is True and config.ema_decay == 0.999


def test_classic_is_the_catdcgan_recipe_on_any_device() -> None:
    for has_gpu in (False, True):
        config = resolve_profile(DCGANConfig(profile="classic"), has_gpu=has_gpu)
        assert (config.g_filters, config.d_filters, config.kernel_size) == (1024, 64, 5)
        assert (config.lr_d, config.lr_g, config.diffaugment, config.ema_decay) == (5e-5, 2e-4, False, 0.0)


def test_cpu_profile_scales_g_with_the_image_size() -> None:
    assert resolve_profile(DCGANConfig(image_size=32, profile="cpu"), has_gpu=True).g_filters == 128
    assert resolve_profile(DCGANConfig(image_size=128, profile="cpu"), has_gpu=True).g_filters == 512


def test_explicit_params_win_over_the_profile() -> None:
    config = resolve_profile(DCGANConfig(g_filters=64, diffaugment=False, ema_decay=0.0), has_gpu=False)
    assert (config.g_filters, config.diffaugment, config.ema_decay) == (64, False, 0.0)
    assert config.d_filters == 32  # the rest still from the profile


def test_a_resolved_config_resolves_to_itself_whatever_the_devices() -> None:
    once = resolve_profile(DCGANConfig(), has_gpu=False)
    assert once.resolved and resolve_profile(once, has_gpu=True) == once


def test_a_recorded_run_keeps_its_first_pick_on_another_machine() -> None:
    recorded = resolve_profile(DCGANConfig(), has_gpu=False).to_dict()
    assert resolve_profile(DCGANConfig(), has_gpu=True, recorded=recorded).profile == "cpu"


def test_a_run_recorded_before_profiles_resumes_as_classic_without_ema() -> None:
    old = {"g_filters": 1024, "d_filters": 64, "kernel_size": 5, "lr_d": 5e-5, "lr_g": 2e-4,
           "diffaugment": False, "ema_decay": None}
    config = resolve_profile(DCGANConfig(), has_gpu=False, recorded=old)
    assert config.profile == "classic" and config.ema_decay == 0.0 and config.kernel_size == 5


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="profile"):
        DCGANConfig(profile="fast").validate()


def test_a_run_records_its_profile_in_metrics_config_json_and_export(image_dir: Path, tmp_path: Path) -> None:
    from gans.dcgan import export
    from gans.export import read_metadata
    from gans.train import TrainingHooks, train_dcgan

    config = DCGANConfig(image_size=32, g_filters=32, d_filters=8, batch_size=8, epochs=1, seed=3)
    result = train_dcgan(config, image_dir, tmp_path / "ckpt", TrainingHooks())
    assert result.metrics["profile"] == "cpu"  # this machine has no GPU
    saved = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert (saved["profile"], saved["g_filters"], saved["kernel_size"], saved["ema_decay"]) == ("cpu", 32, 4, 0.999)
    assert result.config.to_dict() == saved and result.model.ema_generator is not None
    export(result.model, config, tmp_path / "export", {"metrics": result.metrics})
    assert read_metadata(tmp_path / "export")["config"]["profile"] == "cpu"


def test_a_run_started_from_another_runs_checkpoint_takes_its_profile(image_dir: Path, tmp_path: Path) -> None:
    from gans.train import TrainingHooks, train_dcgan

    classic = DCGANConfig(profile="classic", image_size=32, g_filters=32, d_filters=8, batch_size=8, epochs=1, seed=3)
    first = train_dcgan(classic, image_dir, tmp_path / "first", TrainingHooks())
    from gans.dcgan import SPEC
    from gans.train import train_gan

    auto = dataclasses.replace(classic, profile="auto", epochs=2)
    second = train_gan(SPEC, auto, image_dir, tmp_path / "second", TrainingHooks(),
                       init_from=str(tmp_path / "first" / f"ckpt-{first.step}"))
    assert second.metrics["profile"] == "classic" and second.model.ema_generator is None
    assert json.loads((tmp_path / "second" / "config.json").read_text())["kernel_size"] == 5
