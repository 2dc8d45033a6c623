"""DCGAN's losses and regularisers: their values, their wiring, determinism by seed and exact resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans.configs.dcgan import DCGANConfig
from gans.dcgan import build as build_dcgan
from gans.errors import ConfigError
from gans.losses import d_loss, g_loss, r1_penalty, sigmoid_bce
from gans.nets.dcgan import build_discriminator
from gans.train import Progress, TrainingHooks, TrainResult, train_dcgan

# 20 images / batch 8 = 2 steps per epoch; 3 epochs = 6 steps (as in test_gans_train).
TINY = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3, sample_every_steps=4, seed=5)
OPTIONS = {"hinge": {"loss": "hinge"}, "ralsgan": {"loss": "ralsgan"}, "r1": {"r1_gamma": 10.0},
           "spectral_norm": {"spectral_norm": True}, "reuse_fakes": {"reuse_fakes": True}}
REAL = tf.constant([[1.0], [3.0]])
FAKE = tf.constant([[-1.0], [1.0]])


class RecordingHooks(TrainingHooks):
    """Record the progress reports; ask to stop once stop_after steps were reported."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.progress: list[Progress] = []

    def on_progress(self, progress: Progress) -> None:
        self.progress.append(progress)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.progress) >= self.stop_after


def _weights(result: TrainResult) -> list[np.ndarray]:
    """Return every weight of G, D and the EMA copy (non-trainable ones included)."""
    model = result.model
    return [w for net in (model.generator, model.discriminator, model.ema_generator) for w in net.get_weights()]


def test_hinge_counts_only_the_logits_inside_the_margin() -> None:
    real, fake = tf.constant([[2.0], [0.0]]), tf.constant([[-2.0], [0.0]])
    assert float(d_loss("hinge", real, fake, 0.9)) == pytest.approx(0.5 + 0.5)
    assert float(g_loss("hinge", fake)) == pytest.approx(1.0)  # -mean(fake)


def test_ralsgan_compares_each_side_with_the_others_mean() -> None:
    # reals' mean 2, fakes' mean 0: D wants real - 0 = 1 and fake - 2 = -1; G wants the reverse
    assert float(d_loss("ralsgan", REAL, FAKE, 0.9)) == pytest.approx((2.0 + 2.0) / 2)
    assert float(g_loss("ralsgan", FAKE, REAL)) == pytest.approx((10.0 + 10.0) / 2)


def test_label_smoothing_is_the_nonsaturating_losss_only() -> None:
    smoothed = d_loss("nonsaturating", REAL, FAKE, 0.9)
    assert float(smoothed) == pytest.approx(float(sigmoid_bce(REAL, 0.9) + sigmoid_bce(FAKE, 0.0)))
    assert float(smoothed) != pytest.approx(float(d_loss("nonsaturating", REAL, FAKE, 1.0)))
    for loss in ("hinge", "ralsgan"):
        assert float(d_loss(loss, REAL, FAKE, 0.9)) == float(d_loss(loss, REAL, FAKE, 0.5))


def test_r1_of_a_linear_d_is_half_its_squared_weight_norm() -> None:
    d = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    d.layers[-1].set_weights([np.array([[1.0], [2.0], [0.0], [-2.0]], np.float32), np.zeros(1, np.float32)])
    images = tf.random.stateless_normal((3, 2, 2, 1), seed=[1, 2])
    logits, penalty = r1_penalty(d, images)
    assert logits.shape == (3, 1)
    assert float(penalty) == pytest.approx(0.5 * (1 + 4 + 0 + 4))  # the gradient is w for every image


def test_spectral_norm_wraps_every_d_layer_and_drops_its_batch_norm() -> None:
    config = dataclasses.replace(TINY, spectral_norm=True, kernel_size=4)
    d = build_discriminator(config)
    kinds = [type(layer).__name__ for layer in d.layers]
    assert "BatchNormalization" not in kinds
    assert kinds.count("SpectralNormalization") == 4  # three convs at 32 px and the logit
    assert all(layer.layer.use_bias for layer in d.layers if type(layer).__name__ == "SpectralNormalization")
    d_plain = build_discriminator(dataclasses.replace(config, spectral_norm=False))
    assert "SpectralNormalization" not in [type(layer).__name__ for layer in d_plain.layers]
    images = tf.random.stateless_uniform((4, 32, 32, 3), seed=[3, 4], minval=-1, maxval=1)
    for _ in range(40):  # each training call runs one power iteration and rescales the kernel by it
        d(images, training=True)
    for layer in d.layers:
        if type(layer).__name__ == "SpectralNormalization":
            kernel = layer.layer.kernel.numpy().reshape(-1, layer.layer.kernel.shape[-1])
            assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, rel=0.05), layer.name


def test_bad_loss_and_negative_r1_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"loss must be one of \['nonsaturating', 'hinge', 'ralsgan'\]"):
        DCGANConfig(loss="wasserstein").validate()
    with pytest.raises(ConfigError, match="r1_gamma"):
        DCGANConfig(r1_gamma=-1.0).validate()
    with pytest.raises(ConfigError, match="spectral_norm must be true or false"):
        DCGANConfig(spectral_norm=1).validate()


def _one_step(config: DCGANConfig) -> dict[str, float]:
    """Return the losses of one (eager) train step of a freshly built model on a fixed batch."""
    batch = tf.random.stateless_uniform((8, 32, 32, 3), seed=[7, 8], minval=-1, maxval=1)
    return {k: float(v) for k, v in build_dcgan(config).train_step(batch).items()}


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_changes_the_step_and_the_same_seed_repeats_it(option: str) -> None:
    base = dataclasses.replace(TINY, profile="cpu", diffaugment=True)
    config = dataclasses.replace(base, **OPTIONS[option])
    first, again = _one_step(config), _one_step(config)
    assert first == again  # determinism by seed: weights, latents and augmentations alike
    default = _one_step(base)
    assert (first["d_loss"], first["g_loss"]) != (default["d_loss"], default["g_loss"])
    assert ("r1" in first) == (option == "r1") and first.get("r1", 1.0) > 0


@pytest.mark.parametrize(("reuse_fakes", "forwards"), [(False, 2), (True, 1)])
def test_reuse_fakes_runs_the_generator_once_a_step(reuse_fakes: bool, forwards: int) -> None:
    model = build_dcgan(dataclasses.replace(TINY, profile="cpu", reuse_fakes=reuse_fakes))
    calls, call = [], model.generator.call
    model.generator.call = lambda *args, **kwargs: calls.append(1) or call(*args, **kwargs)
    losses = model.train_step(tf.random.stateless_uniform((8, 32, 32, 3), seed=[7, 8], minval=-1, maxval=1))
    assert len(calls) == forwards
    assert np.isfinite([float(losses["d_loss"]), float(losses["g_loss"])]).all()


@pytest.mark.parametrize("option", OPTIONS)
def test_stop_then_resume_matches_an_uninterrupted_run(option: str, image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, diffaugment=True, ema_decay=0.9, **OPTIONS[option])
    straight_hooks = RecordingHooks()
    straight = train_dcgan(config, image_dir, tmp_path / "straight", straight_hooks)
    stopped = train_dcgan(config, image_dir, tmp_path / "resumed", RecordingHooks(stop_after=3))
    assert (stopped.stopped, stopped.step) == (True, 3)
    resuming = RecordingHooks()
    resumed = train_dcgan(config, image_dir, tmp_path / "resumed", resuming)
    assert [p.step for p in resuming.progress] == [4, 5, 6]
    assert [(p.g_loss, p.d_loss) for p in resuming.progress] == [(p.g_loss, p.d_loss)
                                                                  for p in straight_hooks.progress[3:]]
    assert (resumed.metrics["g_loss"], resumed.metrics["d_loss"]) == (straight.metrics["g_loss"],
                                                                      straight.metrics["d_loss"])
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):  # SN's power-iteration vectors too
        np.testing.assert_array_equal(a, b)
