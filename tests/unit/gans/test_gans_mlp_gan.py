"""mlp-gan: the fully connected nets, the Goodfellow losses, grey data from any folder, its ModelSpec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gans.export import to_uint8
from gans.configs.mlp_gan import MLPGANConfig
from gans.errors import ConfigError
from gans.mlp_gan import MLPGAN, SPEC, build_mlp_gan
from gans.nets.mlp_gan import build_discriminator, build_generator

SMALL = MLPGANConfig(batch_size=4, seed=3)  # 20 fixture images: 5 batches


def _batches(config: MLPGANConfig, image_dir: Path, epoch: int = 0) -> list[tf.Tensor]:
    return list(SPEC.epoch_dataset(config, image_dir, epoch))


def _weights(model: MLPGAN) -> list[np.ndarray]:
    return model.generator.get_weights() + model.discriminator.get_weights()


def test_defaults_are_the_recipe_and_round_trip() -> None:
    config = MLPGANConfig()
    assert config.validate() is config
    assert (config.z_dim, config.hidden_units, config.hidden_layers, config.image_size) == (100, 128, 2, 28)
    assert (config.lr_d, config.lr_g, config.beta1, config.batch_size) == (2e-4, 2e-4, 0.5, 64)
    assert MLPGANConfig.from_dict(config.to_dict()) == config
    assert (SPEC.name, SPEC.config_type) == ("mlp-gan", MLPGANConfig)


@pytest.mark.parametrize("changes", [
    {"image_size": 7}, {"image_size": 129}, {"image_size": 28.0}, {"z_dim": 0}, {"hidden_units": 0},
    {"hidden_layers": 0}, {"lr_d": 0.0}, {"lr_g": float("nan")}, {"beta1": 1.0}, {"beta1": -0.1},
    {"epochs": 0},
])
def test_validate_rejects_bad_values(changes: dict) -> None:
    field = next(iter(changes))
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(MLPGANConfig(), **changes).validate()


def test_nets_are_two_hidden_layers_of_128_with_leaky_relu() -> None:
    config = MLPGANConfig()
    generator, discriminator = build_generator(config), build_discriminator(config)
    dense = [(layer.units, layer.activation.__name__) for layer in generator.layers
             if isinstance(layer, keras.layers.Dense)]
    assert dense == [(128, "linear"), (128, "linear"), (784, "tanh")]
    assert generator.output.shape[1:] == (28, 28, 1)
    dense = [(layer.units, layer.activation.__name__) for layer in discriminator.layers
             if isinstance(layer, keras.layers.Dense)]
    assert dense == [(128, "linear"), (128, "linear"), (1, "linear")]  # D ends on a logit
    leaks = [layer.negative_slope for net in (generator, discriminator) for layer in net.layers
             if isinstance(layer, keras.layers.LeakyReLU)]
    assert leaks == [0.2] * 4
    assert (generator.count_params(), discriminator.count_params()) == (130_576, 117_121)
    deeper = MLPGANConfig(hidden_layers=3, hidden_units=64, image_size=32)
    assert build_generator(deeper).output.shape[1:] == (32, 32, 1)
    assert len([layer for layer in build_discriminator(deeper).layers if isinstance(layer, keras.layers.Dense)]) == 4


def test_optimizers_are_adam_2e4_beta1_half() -> None:
    model = build_mlp_gan(MLPGANConfig())
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4) and optimizer.beta_1 == 0.5
        assert len(optimizer.variables) > 2  # slots built in compile


def _bce(logits: np.ndarray, target: float) -> float:
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return float(np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p))))


def test_losses_are_goodfellows_with_latents_from_the_model_rng(image_dir: Path) -> None:
    """D: real -> 1 plus fake -> 0; G (non-saturating): its fakes -> 1 through the updated D."""
    model = build_mlp_gan(SMALL)
    real = _batches(SMALL, image_dir)[0]  # (4, 28, 28, 1)
    draws = tf.random.Generator.from_state(model.rng.state.numpy(), model.rng.algorithm)
    z, z2 = draws.normal([4, 100]), draws.normal([4, 100])
    expected_d = (_bce(model.discriminator(real).numpy(), 1.0)
                  + _bce(model.discriminator(model.generator(z)).numpy(), 0.0))
    g_images_before = model.generator(z2)

    losses = model.train_step(real)

    assert float(losses["d_loss"]) == pytest.approx(expected_d, rel=1e-4)
    assert float(losses["g_loss"]) == pytest.approx(_bce(model.discriminator(g_images_before).numpy(), 1.0),
                                                    rel=1e-4)


def test_resume_from_trackables_replays_the_same_steps(image_dir: Path, tmp_path: Path) -> None:
    batches = _batches(SMALL, image_dir)
    straight = build_mlp_gan(SMALL)
    straight_losses = [float(straight.train_step(b)["d_loss"]) for b in batches[:4]]

    first = build_mlp_gan(SMALL)
    for batch in batches[:2]:
        first.train_step(batch)
    path = tf.train.Checkpoint(**first.trackables()).save(str(tmp_path / "ckpt"))
    second = build_mlp_gan(SMALL)
    tf.train.Checkpoint(**second.trackables()).restore(path).assert_existing_objects_matched()
    assert [float(second.train_step(b)["d_loss"]) for b in batches[2:4]] == straight_losses[2:]
    for a, b in zip(_weights(straight), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)


def _coloured_folder(folder: Path) -> None:
    """Write pure red, green, blue and white images as PNG, JPEG, BMP and GIF."""
    folder.mkdir()
    for (name, colour) in (("red.png", (255, 0, 0)), ("green.bmp", (0, 255, 0)),
                           ("blue.gif", (0, 0, 255)), ("white.jpg", (255, 255, 255))):
        Image.new("RGB", (40, 40), colour).save(folder / name)


def test_any_folder_is_read_as_grey_in_every_format(tmp_path: Path) -> None:
    """RGB is converted to luma here; asking TensorFlow for 1 channel would drop the BMP and GIF."""
    _coloured_folder(tmp_path / "colours")
    config = MLPGANConfig(batch_size=4)
    (batch,) = _batches(config, tmp_path / "colours")
    assert batch.shape == (4, 28, 28, 1)
    grey = sorted(np.unique(to_uint8(batch).numpy()).tolist())
    # PIL's convert("L") (ITU-R BT.601): blue 29, red 76, green 150, white 255.
    assert grey == pytest.approx([29, 76, 150, 255], abs=1)
    real, _ = SPEC.quality_images(build_mlp_gan(config), config, tmp_path / "colours", 8)
    assert real.shape == (4, 28, 28, 1)


def test_sheet_and_quality_images_are_grey(image_dir: Path) -> None:
    model = build_mlp_gan(SMALL)
    inputs = SPEC.sample_inputs(SMALL, image_dir)
    assert inputs.shape == (64, 100)
    sheet = SPEC.sample_sheet(model, inputs)
    assert sheet.shape == (8 * 28, 8 * 28, 1) and sheet.dtype == np.uint8
    real, fake = SPEC.quality_images(model, SMALL, image_dir, 16)
    assert real.shape == fake.shape == (16, 28, 28, 1) and real.dtype == fake.dtype == np.uint8
    np.testing.assert_array_equal(fake, SPEC.quality_images(model, SMALL, image_dir, 16)[1])
    assert SPEC.count_examples(SMALL, image_dir) == 20


def test_export_serves_grey_uint8_images_from_z(tmp_path: Path) -> None:
    config = dataclasses.replace(SMALL, precision="float32")  # exact in-process == export pixels: float32 (bf16 +-1)
    model = build_mlp_gan(config)
    export_dir = tmp_path / "model" / "1"
    SPEC.export(model, config, export_dir, {"training_job": 7})
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    (spec,) = serve.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("z", tf.float32, [None, 100])
    z = np.random.default_rng(0).normal(size=(3, 100)).astype(np.float32)
    images = serve(z=tf.constant(z))["images"].numpy()
    assert images.dtype == np.uint8 and images.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(images, to_uint8(model.generator(z, training=False)).numpy())
    metadata = json.loads((export_dir / "metadata.json").read_text())
    assert metadata.pop("signature")["key"] == "serving_default"  # the whole of it: test_gans_contract
    assert metadata == {"kind": "unconditional", "model": "mlp-gan", "image_size": 28, "z_dim": 100, "channels": 1, "training_job": 7}
