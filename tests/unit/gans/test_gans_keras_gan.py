"""keras-gan: the book's recipe (nets, optimizers, labels), exact resume, and its ModelSpec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans.export import to_uint8
from gans.configs.keras_gan import KerasGANConfig
from gans.errors import ConfigError, DatasetError
from gans.keras_gan import SPEC, KerasGAN, build_keras_gan
from gans.nets.keras_gan import build_discriminator, build_generator

SMALL = KerasGANConfig(batch_size=4, seed=3)  # 20 fixture images: 5 batches


def _batches(config: KerasGANConfig, image_dir: Path, epoch: int = 0) -> list[tf.Tensor]:
    return list(SPEC.epoch_dataset(config, image_dir, epoch))


def _weights(model: KerasGAN) -> list[np.ndarray]:
    return model.generator.get_weights() + model.discriminator.get_weights()


def test_defaults_are_the_books_recipe_and_round_trip() -> None:
    config = KerasGANConfig()
    assert config.validate() is config
    assert (config.latent_dim, config.image_size, config.channels, config.batch_size) == (32, 32, 3, 20)
    assert (config.lr_d, config.lr_g, config.clipvalue) == (8e-4, 4e-4, 1.0)
    assert (config.label_noise, config.dropout) == (0.05, 0.4)
    assert config.z_dim == 32  # the service's name for the latent size
    assert KerasGANConfig.from_dict(config.to_dict()) == config
    with pytest.raises(TypeError):
        KerasGANConfig.from_dict({"z_dim": 100})  # a property, not a field
    assert (SPEC.name, SPEC.config_type) == ("keras-gan", KerasGANConfig)


@pytest.mark.parametrize("changes", [
    {"image_size": 28}, {"image_size": True}, {"latent_dim": 0}, {"channels": 2}, {"channels": "3"},
    {"lr_d": 0.0}, {"lr_g": float("inf")}, {"clipvalue": 0.0}, {"label_noise": -0.01},
    {"label_noise": 0.51}, {"dropout": 1.0}, {"dropout": -0.1}, {"batch_size": 0}, {"seed": -1},
])
def test_validate_rejects_bad_values(changes: dict) -> None:
    field = next(iter(changes))
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(KerasGANConfig(), **changes).validate()


def test_nets_are_the_books_layers() -> None:
    config = KerasGANConfig()
    generator, discriminator = build_generator(config), build_discriminator(config)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in generator.layers}
    assert [shapes[n] for n in ("project", "conv1", "up", "conv2", "conv3", "images")] == [
        (128 * 16 * 16,), (16, 16, 256), (32, 32, 256), (32, 32, 256), (32, 32, 256), (32, 32, 3)]
    assert generator.get_layer("up").strides == (2, 2) and generator.get_layer("up").kernel_size == (4, 4)
    assert generator.get_layer("images").kernel_size == (7, 7)
    assert generator.count_params() == 6_264_579
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in discriminator.layers}
    assert [shapes[f"conv{i}"] for i in range(1, 5)] == [(30, 30, 128), (14, 14, 128), (6, 6, 128), (2, 2, 128)]
    assert discriminator.get_layer("dropout").rate == 0.4
    assert discriminator.count_params() == 790_913
    leaks = [layer.negative_slope for net in (generator, discriminator) for layer in net.layers
             if isinstance(layer, keras.layers.LeakyReLU)]
    assert leaks == [0.3] * 9  # Keras 2's default, which the book's LeakyReLU() used


@pytest.mark.parametrize("image_size", [32, 64])
def test_output_shapes_and_ranges(image_size: int) -> None:
    config = KerasGANConfig(image_size=image_size)
    images = build_generator(config)(np.random.default_rng(0).normal(size=(2, 32)).astype("float32"))
    assert images.shape == (2, image_size, image_size, 3)
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    probability = build_discriminator(config)(images).numpy()
    assert probability.shape == (2, 1) and ((0 < probability) & (probability < 1)).all()


def test_optimizers_are_rmsprop_with_clipping_and_the_books_decay() -> None:
    model = build_keras_gan(KerasGANConfig())
    for optimizer, rate in ((model.d_optimizer, 8e-4), (model.g_optimizer, 4e-4)):
        assert isinstance(optimizer, keras.optimizers.RMSprop) and optimizer.clipvalue == 1.0
        schedule = optimizer._learning_rate
        assert float(schedule(0)) == pytest.approx(rate, rel=1e-7)
        assert float(schedule(10_000)) == pytest.approx(rate / (1 + 1e-8 * 10_000), rel=1e-7)
    # Slots exist before the first step, so a checkpoint restores into them at once.
    assert len(model.d_optimizer.variables) > 2 and len(model.g_optimizer.variables) > 2


def _bce(targets: np.ndarray, probabilities: np.ndarray) -> float:
    p = probabilities.astype(np.float64)
    return float(np.mean(-(targets * np.log(p) + (1 - targets) * np.log(1 - p))))


def test_losses_follow_the_books_labels_with_noise_from_the_model_rng(image_dir: Path) -> None:
    """D: generated -> 1, real -> 0, both + U[0, 0.05) from self.rng; G: towards 0 ("real")."""
    config = dataclasses.replace(SMALL, dropout=0.0)  # no dropout: the losses can be recomputed
    model = build_keras_gan(config)
    real = _batches(config, image_dir)[0]  # (4, 32, 32, 3)
    draws = tf.random.Generator.from_state(model.rng.state.numpy(), model.rng.algorithm)
    z = draws.normal([4, 32])
    noise = draws.uniform([8, 1]).numpy()
    z2 = draws.normal([4, 32])
    fake = model.generator(z)
    d_before = model.discriminator(tf.concat([fake, real], 0)).numpy()
    g_images_before = model.generator(z2)  # G's images with the weights G had during its step

    losses = model.train_step(real)

    labels = np.concatenate([np.ones((4, 1)), np.zeros((4, 1))]) + 0.05 * noise
    assert float(losses["d_loss"]) == pytest.approx(_bce(labels, d_before), rel=1e-4)
    # G's loss is measured through the already updated D, against all-zero targets.
    d_after = model.discriminator(g_images_before).numpy()
    assert float(losses["g_loss"]) == pytest.approx(_bce(np.zeros((4, 1)), d_after), rel=1e-4)
    assert model.d_optimizer.iterations.numpy() == model.g_optimizer.iterations.numpy() == 1


def test_resume_from_trackables_replays_the_same_steps(image_dir: Path, tmp_path: Path) -> None:
    """Restored nets, optimizers, rng and dropout seed give the uninterrupted run's weights bit for bit."""
    batches = _batches(SMALL, image_dir)
    straight = build_keras_gan(SMALL)
    straight_losses = [float(straight.train_step(b)["g_loss"]) for b in batches[:4]]

    first = build_keras_gan(SMALL)
    for batch in batches[:2]:
        first.train_step(batch)
    path = tf.train.Checkpoint(**first.trackables()).save(str(tmp_path / "ckpt"))
    second = build_keras_gan(SMALL)
    tf.train.Checkpoint(**second.trackables()).restore(path).assert_existing_objects_matched()
    resumed_losses = [float(second.train_step(b)["g_loss"]) for b in batches[2:4]]

    assert resumed_losses == straight_losses[2:]
    for a, b in zip(_weights(straight), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)  # fails if D's dropout masks restart after a restore


def test_epoch_dataset_count_and_sheet(image_dir: Path, tmp_path: Path) -> None:
    assert SPEC.count_examples(SMALL, image_dir) == 20
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        SPEC.count_examples(SMALL, tmp_path / "empty")
    first, again = _batches(SMALL, image_dir, 0), _batches(SMALL, image_dir, 0)
    assert len(first) == 5 and first[0].shape == (4, 32, 32, 3) and first[0].dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(first[0])) and float(tf.reduce_max(first[0])) <= 1.0
    np.testing.assert_array_equal(first[0], again[0])  # the same (seed, epoch): the same order
    assert not np.array_equal(first[0], _batches(SMALL, image_dir, 1)[0])

    model = build_keras_gan(SMALL)
    inputs = SPEC.sample_inputs(SMALL, image_dir)
    assert inputs.shape == (64, 32)
    np.testing.assert_array_equal(inputs, SPEC.sample_inputs(SMALL, image_dir))
    sheet = SPEC.sample_sheet(model, inputs)
    assert sheet.shape == (8 * 32, 8 * 32, 3) and sheet.dtype == np.uint8
    np.testing.assert_array_equal(sheet[:32, :32], to_uint8(model.generator(inputs[:1])).numpy()[0])


def test_quality_images_are_fixed_sets(image_dir: Path) -> None:
    model = build_keras_gan(SMALL)
    real, fake = SPEC.quality_images(model, SMALL, image_dir, 12)
    assert real.shape == fake.shape == (12, 32, 32, 3) and real.dtype == fake.dtype == np.uint8
    again_real, again_fake = SPEC.quality_images(model, SMALL, image_dir, 12)
    np.testing.assert_array_equal(real, again_real)
    np.testing.assert_array_equal(fake, again_fake)
    real, fake = SPEC.quality_images(model, SMALL, image_dir, 30)  # more than the folder holds
    assert len(real) == len(fake) == 20  # generated sets match the real set in size


def test_grey_variant_reads_grey_batches(image_dir: Path) -> None:
    config = dataclasses.replace(SMALL, channels=1)
    batch = _batches(config, image_dir)[0]
    assert batch.shape == (4, 32, 32, 1)
    model = build_keras_gan(config)
    assert np.isfinite(float(model.train_step(batch)["d_loss"]))
    assert SPEC.sample_sheet(model, SPEC.sample_inputs(config, image_dir)).shape == (256, 256, 1)


def test_export_serves_uint8_images_from_z(tmp_path: Path) -> None:
    config = dataclasses.replace(SMALL, precision="float32")  # exact in-process == export pixels: float32 (bf16 +-1)
    model = build_keras_gan(config)
    export_dir = tmp_path / "model" / "1"
    SPEC.export(model, config, export_dir, {"training_job": 7})
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    (spec,) = serve.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("z", tf.float32, [None, 32])
    z = np.random.default_rng(0).normal(size=(3, 32)).astype(np.float32)
    images = serve(z=tf.constant(z))["images"].numpy()
    assert images.dtype == np.uint8 and images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(images, to_uint8(model.generator(z, training=False)).numpy())
    metadata = json.loads((export_dir / "metadata.json").read_text())
    assert metadata.pop("signature")["key"] == "serving_default"  # the whole of it: test_gans_contract
    assert metadata == {"kind": "unconditional", "model": "keras-gan", "image_size": 32, "z_dim": 32, "channels": 3, "training_job": 7}
