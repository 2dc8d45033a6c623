"""precision: "auto"'s pick, nets built under a scoped dtype policy, loss scaling, exact resume and float32 exports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans.configs.dcgan import DCGANConfig, resolve_profile
from gans.configs.mlp_gan import MLPGANConfig
from gans.dcgan import SPEC, build
from gans.errors import ConfigError
from gans.export import load_generator
from gans.mlp_gan import build_mlp_gan
from gans.precision import cpu_has_bf16, pick_precision
from gans.train import train_dcgan
from tests.unit.gans.test_gans_train import RecordingHooks, _weights

TINY = DCGANConfig(profile="cpu", image_size=32, g_filters=64, d_filters=16, z_dim=16, batch_size=8, epochs=3,
                   sample_every_steps=4, seed=5)


def test_auto_is_mixed_bfloat16_on_a_bf16_cpu_float32_on_others_and_mixed_float16_with_a_gpu() -> None:
    on_this_cpu = "mixed_bfloat16" if cpu_has_bf16() else "float32"  # AVX-512 BF16 / AMX machines, AVX2-only ones
    assert resolve_profile(DCGANConfig(), has_gpu=False).precision == on_this_cpu
    assert pick_precision("auto", has_gpu=False, bf16_cpu=True) == "mixed_bfloat16"  # bench: ~2x float32
    assert pick_precision("auto", has_gpu=False, bf16_cpu=False) == "float32"  # emulated bfloat16 is slow
    assert resolve_profile(DCGANConfig(), has_gpu=True).precision == "mixed_float16"
    assert resolve_profile(DCGANConfig(precision="float32"), has_gpu=False).precision == "float32"
    assert not DCGANConfig(profile="cpu", g_filters=64, d_filters=16, kernel_size=4, lr_d=1e-4, lr_g=1e-4,
                           diffaugment=False, ema_decay=0.0).resolved  # "auto" precision still to pick
    with pytest.raises(ConfigError, match="precision must be one of"):
        pick_precision("bfloat16", False)
    with pytest.raises(ConfigError, match="precision must be one of"):
        DCGANConfig(precision="float64").validate()


def test_cpu_flags_decide_bf16(tmp_path: Path) -> None:
    (tmp_path / "amx").write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    (tmp_path / "old").write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert cpu_has_bf16(str(tmp_path / "amx")) and not cpu_has_bf16(str(tmp_path / "old"))
    assert not cpu_has_bf16(str(tmp_path / "missing"))


def test_a_resumed_run_keeps_its_recorded_precision() -> None:
    assert resolve_profile(DCGANConfig(), False, {"profile": "cpu", "precision": "mixed_bfloat16"}).precision == \
        "mixed_bfloat16"
    assert resolve_profile(DCGANConfig(), True, {"profile": "cpu"}).precision == "float32"  # recorded before it


def test_nets_are_built_under_the_policy_and_nothing_leaks_into_later_models() -> None:
    mixed = build(dataclasses.replace(TINY, precision="mixed_bfloat16"))
    assert keras.config.dtype_policy().name == "float32"
    assert mixed.generator.get_layer("project").compute_dtype == "bfloat16"
    assert mixed.generator.get_layer("project").kernel.dtype == "float32"  # weights stay float32
    assert mixed.ema_generator.get_layer("up1").compute_dtype == "bfloat16"
    assert mixed.generator.get_layer("images").compute_dtype == "float32"  # the last layers: float32
    assert mixed.discriminator.get_layer("logit").compute_dtype == "float32"
    z = tf.random.stateless_normal([2, TINY.z_dim], seed=[1, 2])
    assert mixed.generator(z).dtype == tf.float32
    plain = build(dataclasses.replace(TINY, precision="float32"))
    assert {layer.compute_dtype for layer in plain.generator.layers} == {"float32"}
    assert isinstance(plain.d_optimizer, keras.optimizers.Adam)


def test_mixed_float16_wraps_the_optimizers_in_loss_scaling_and_trains() -> None:
    model = build(dataclasses.replace(TINY, precision="mixed_float16"))
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    mlp = build_mlp_gan(MLPGANConfig(image_size=8, hidden_units=16, z_dim=4, batch_size=4, precision="mixed_float16"))
    assert isinstance(mlp.g_optimizer, keras.optimizers.LossScaleOptimizer)
    losses = model.train_step(tf.random.stateless_uniform([8, 32, 32, 3], seed=[3, 4], minval=-1.0, maxval=1.0))
    assert losses["d_loss"].dtype == tf.float32 and all(np.isfinite(float(v)) for v in losses.values())


def test_stop_then_resume_matches_an_uninterrupted_run_in_mixed_bfloat16(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, precision="mixed_bfloat16", ema_decay=0.9)
    straight = train_dcgan(config, image_dir, tmp_path / "straight", RecordingHooks())
    assert straight.metrics["precision"] == "mixed_bfloat16"
    stopped = train_dcgan(config, image_dir, tmp_path / "resumed", RecordingHooks(stop_after=3))
    assert (stopped.stopped, stopped.step) == (True, 3)
    resuming = RecordingHooks()
    resumed = train_dcgan(dataclasses.replace(config, precision="auto"), image_dir, tmp_path / "resumed", resuming)
    assert resumed.model.config.precision == "mixed_bfloat16"  # "auto" resumes as recorded
    assert [p.step for p in resuming.progress] == [4, 5, 6]
    assert resumed.metrics["g_loss"] == straight.metrics["g_loss"]
    assert resumed.metrics["d_loss"] == straight.metrics["d_loss"]
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def _signature_dtypes(export_dir: Path) -> tuple[dict[str, tf.DType], dict[str, tf.DType]]:
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    inputs = {name: spec.dtype for name, spec in serve.structured_input_signature[1].items()}
    return inputs, {name: spec.dtype for name, spec in serve.structured_outputs.items()}


def test_a_mixed_bfloat16_export_keeps_the_float32_signature_and_generates(tmp_path: Path) -> None:
    dirs = {}
    for precision in ("float32", "mixed_bfloat16"):
        config = dataclasses.replace(TINY, precision=precision)
        dirs[precision] = tmp_path / precision
        SPEC.export(build(config), config, dirs[precision], {})
    assert _signature_dtypes(dirs["mixed_bfloat16"]) == _signature_dtypes(dirs["float32"]) == (
        {"z": tf.float32}, {"images": tf.uint8})
    z = np.random.default_rng(0).normal(size=(3, TINY.z_dim)).astype(np.float32)
    images, reference = (load_generator(dirs[p])(z) for p in ("mixed_bfloat16", "float32"))
    assert images.dtype == np.uint8 and images.shape == (3, 32, 32, 3) and images.std() > 0
    # the same seeded weights, computed in bfloat16: close to the float32 export's pixels, not equal
    assert np.abs(images.astype(int) - reference.astype(int)).mean() < 2
