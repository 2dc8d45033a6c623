"""pix2pix: nets, train step, exact resume, the one inference mode, export, config and SPEC."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import gans.train
from gans.nets.pix2pix import build_discriminator, build_generator, encoder_filters
from gans.configs.pix2pix import Pix2PixConfig
from gans.errors import ConfigError, DatasetError
from gans.pix2pix import SPEC, build, translate, translate_tensor

# 64 px, narrow nets: the same code paths as 256 px at a fraction of the cost.
TINY = Pix2PixConfig(image_size=64, ngf=8, ndf=8, seed=3)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of 6 synthetic 72x72 photos: 6 edge pairs, 6 steps per epoch at batch 1."""
    directory = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(1)
    for i in range(6):  # a bright disc on a dark noisy ground: edges with a shape to them
        yy, xx = np.mgrid[:72, :72]
        disc = (yy - rng.integers(20, 52)) ** 2 + (xx - rng.integers(20, 52)) ** 2 < 15**2
        pixels = np.where(disc[..., None], rng.uniform(150, 255, 3), rng.uniform(0, 90, 3))
        pixels = np.clip(pixels + rng.normal(0, 10, (72, 72, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(directory / f"photo_{i}.png")
    return directory


def run_steps(model: object, batches: list) -> list[dict[str, float]]:
    """Run train_step as the trainer does (tf.function, no XLA) and return the losses."""
    step = tf.function(model.train_step)
    return [{k: float(v) for k, v in step(batch).items()} for batch in batches]


def test_nets_at_256_are_the_recipe() -> None:
    generator = build_generator(256, 64, tf.random.Generator.from_seed(0))
    discriminator = build_discriminator(256, 64)
    image = tf.zeros((1, 256, 256, 3))
    assert generator(image).shape == (1, 256, 256, 3)
    assert discriminator([image, image]).shape == (1, 30, 30, 1)  # the 70x70 PatchGAN's map
    assert encoder_filters(256, 64) == [64, 128, 256, 512, 512, 512, 512, 512]
    # The TF tutorial's G has 54,414,979 trainable parameters; ours has a bias on down1 (no norm
    # there, +64) and a bias instead of BatchNorm on the 1x1 bottleneck (512 - 1024). Its D has
    # 2,768,641; ours +64 for the bias of the unnormalised first conv. No moving averages.
    assert generator.count_params() == 54_414_979 + 64 - 512
    assert discriminator.count_params() == 2_768_641 + 64
    assert not generator.non_trainable_weights and not discriminator.non_trainable_weights
    names = [layer.name for layer in generator.layers]
    assert "down1_norm" not in names and "down8_norm" not in names and "down7_norm" in names
    assert [n for n in names if n.endswith("dropout")] == [f"up{i}_dropout" for i in (1, 2, 3)]


@pytest.mark.parametrize(("image_size", "patches", "depth"), [(64, 6, 6), (128, 14, 7)])
def test_smaller_sizes_keep_the_unet_to_1x1_and_the_70px_patches(image_size: int, patches: int,
                                                                  depth: int) -> None:
    assert len(encoder_filters(image_size, 8)) == depth  # down to a 1x1 map
    image = tf.zeros((2, image_size, image_size, 3))
    generated = build_generator(image_size, 8, tf.random.Generator.from_seed(0))(image)
    assert generated.shape == (2, image_size, image_size, 3)
    assert build_discriminator(image_size, 8)([image, generated]).shape == (2, patches, patches, 1)


def test_inference_is_deterministic_per_image_and_without_dropout() -> None:
    generator = build(TINY).generator
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), np.uint8))
    first = translate_tensor(generator, images).numpy()
    np.testing.assert_array_equal(first, translate_tensor(generator, images).numpy())
    np.testing.assert_array_equal(first[1:2], translate_tensor(generator, images[1:2]).numpy())
    inputs = tf.cast(images, tf.float32) / 127.5 - 1.0
    # training=True differs only by dropout: each call draws new masks from the model's rng.
    assert not np.array_equal(generator(inputs, training=True), generator(inputs, training=True))


@pytest.mark.parametrize("source", ["edges", "grayscale"])
def test_train_steps_are_finite_and_resume_exactly(photo_dir: Path, tmp_path: Path, source: str) -> None:
    config = dataclasses.replace(TINY, source=source)
    batches = list(SPEC.epoch_dataset(config, photo_dir, 0).take(4))
    if source == "grayscale":  # grey inputs of colour targets
        inputs, targets = batches[0]
        assert np.array_equal(inputs[..., 0], inputs[..., 2]) and not np.array_equal(targets[..., 0], targets[..., 2])
    straight = build(config)
    losses = run_steps(straight, batches)
    assert set(losses[0]) == {"g_loss", "d_loss", "gan_loss", "l1_loss"}
    assert all(math.isfinite(v) for step in losses for v in step.values())
    assert losses[0]["g_loss"] == pytest.approx(losses[0]["gan_loss"] + 100 * losses[0]["l1_loss"],
                                                rel=1e-5)

    interrupted = build(config)
    run_steps(interrupted, batches[:2])
    path = tf.train.Checkpoint(**interrupted.trackables()).save(str(tmp_path / "ckpt"))
    resumed = build(config)  # fresh weights, optimizers and rng, all overwritten by the restore
    tf.train.Checkpoint(**resumed.trackables()).restore(path).assert_existing_objects_matched()
    assert run_steps(resumed, batches[2:]) == losses[2:]  # bit for bit, dropout masks included
    for a, b in zip(straight.generator.weights + straight.discriminator.weights,
                    resumed.generator.weights + resumed.discriminator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_export_runs_in_a_fresh_process_like_the_sample_sheet(photo_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, precision="float32")  # exact sheet == export pixels: float32 (bf16 +-1)
    model = build(config)
    run_steps(model, list(SPEC.epoch_dataset(config, photo_dir, 0).take(1)))
    sketches, targets = SPEC.sample_inputs(config, photo_dir)
    sheet = SPEC.sample_sheet(model, (sketches, targets))
    assert sheet.dtype == np.uint8 and sheet.shape == (4 * 64, 3 * 64, 3)
    rows = sheet.reshape(4, 64, 3, 64, 3).transpose(0, 2, 1, 3, 4)  # (pair, column, H, W, C)
    np.testing.assert_array_equal(rows[:, 0], sketches)
    np.testing.assert_array_equal(rows[:, 2], targets)

    export_dir = tmp_path / "model" / "1"
    SPEC.export(model, config, export_dir, {"job_id": "j-1"})
    np.save(tmp_path / "sketches.npy", sketches)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        serve = tf.saved_model.load({str(export_dir)!r}).signatures["serving_default"]
        image = tf.constant(np.load({str(tmp_path / "sketches.npy")!r}))
        first, second = serve(image=image)["images"].numpy(), serve(image=image)["images"].numpy()
        assert first.dtype == np.uint8 and first.shape == (4, 64, 64, 3), first.shape
        assert first.tobytes() == second.tobytes()
        assert serve(image=image[2:3])["images"].numpy().tobytes() == first[2:3].tobytes()
        assert not any(m.startswith("gans") for m in sys.modules), "needs no project code"
        np.save({str(tmp_path / "out.npy")!r}, first)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    exported = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(exported, rows[:, 1])  # what the sheet showed is what serving gives
    np.testing.assert_array_equal(translate(export_dir, sketches), exported)
    np.testing.assert_array_equal(translate(model, sketches[0]), exported[0])
    metadata = json.loads((export_dir / "metadata.json").read_text())
    assert {k: metadata[k] for k in ("model", "image_size", "source", "direction", "job_id")} == {
        "model": "pix2pix", "image_size": 64, "source": "edges", "direction": "AtoB", "job_id": "j-1"}


def test_translate_refuses_images_of_another_size_or_type() -> None:
    model = build(TINY)
    with pytest.raises(ValueError, match=r"uint8 images \(N, 64, 64, 3\)"):
        translate(model, np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        translate(model, np.zeros((2, 64, 64, 3), np.float32))


def test_spec_data_is_fixed_by_seed_and_epoch(photo_dir: Path) -> None:
    assert SPEC.name == "pix2pix" and SPEC.config_type is Pix2PixConfig
    assert SPEC.count_examples(TINY, photo_dir) == 6
    with pytest.raises(DatasetError, match="dataset has 6 images, fewer than batch_size 8"):
        SPEC.count_examples(dataclasses.replace(TINY, batch_size=8), photo_dir)

    def arrays(epoch: int) -> list[np.ndarray]:
        return [x.numpy() for pair in SPEC.epoch_dataset(TINY, photo_dir, epoch) for x in pair]

    first = arrays(1)
    assert len(first) == 12 and first[0].shape == (1, 64, 64, 3)
    for a, b in zip(first, arrays(1), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, arrays(2), strict=True))
    inputs = SPEC.sample_inputs(TINY, photo_dir)
    np.testing.assert_array_equal(inputs[0], SPEC.sample_inputs(TINY, photo_dir)[0])

    model = build(TINY)
    real, generated = SPEC.quality_images(model, TINY, photo_dir, 5)
    assert real.shape == generated.shape == (5, 64, 64, 3) and real.dtype == generated.dtype == np.uint8
    np.testing.assert_array_equal(real[:4], inputs[1])  # the same fixed order as the sheet
    assert len(SPEC.quality_images(model, TINY, photo_dir, 50)[0]) == 6  # all there is


def test_ab_source_takes_the_input_half_by_direction(tmp_path: Path) -> None:
    for i in range(2):  # A black, B white
        ab = np.concatenate([np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8)], 1)
        Image.fromarray(ab).save(tmp_path / f"{i}.png")
    config = dataclasses.replace(TINY, source="ab", direction="BtoA")
    inputs, targets = next(iter(SPEC.epoch_dataset(config, tmp_path, 0)))
    assert float(tf.reduce_min(inputs)) > 0.99 and float(tf.reduce_max(targets)) < -0.99


def test_config_defaults_are_the_recipe_and_round_trip() -> None:
    config = Pix2PixConfig()
    assert config.validate() is config
    assert (config.image_size, config.ngf, config.ndf, config.l1_lambda, config.batch_size) == (
        256, 64, 64, 100.0, 1)
    assert (config.lr_g, config.lr_d, config.beta1, config.source, config.direction) == (
        2e-4, 2e-4, 0.5, "edges", "AtoB")
    assert Pix2PixConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("changes", [
    {"image_size": 32}, {"image_size": 256.0}, {"ngf": 0}, {"ndf": True}, {"l1_lambda": -1.0},
    {"l1_lambda": math.nan}, {"lr_g": 0.0}, {"lr_d": -2e-4}, {"beta1": 1.0}, {"source": "photos"},
    {"direction": "AB"}, {"direction": "BtoA"}, {"batch_size": 0}, {"on_divergence": "ignore"},
])
def test_config_rejects_bad_values(changes: dict) -> None:
    field = next(iter(changes))
    with pytest.raises(ConfigError, match=field):
        Pix2PixConfig(**changes).validate()


class StubHooks(gans.train.TrainingHooks):
    """Record progress and sheets; every other hook is the base class's no-op."""

    def __init__(self) -> None:
        self.progress: list[gans.train.Progress] = []
        self.grids: list[tuple[bytes, int]] = []

    def on_progress(self, progress: gans.train.Progress) -> None:
        self.progress.append(progress)

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.grids.append((png, step))


def test_trains_and_resumes_through_the_generic_trainer(photo_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, max_steps=3, sample_every_steps=2)
    straight = gans.train.train_gan(SPEC, config, photo_dir, tmp_path / "straight", StubHooks())
    assert straight.step == 3 and straight.metrics["swd_mean"] > 0

    first = StubHooks()
    gans.train.train_gan(SPEC, dataclasses.replace(config, max_steps=2), photo_dir, tmp_path / "run", first)
    assert all(math.isfinite(p.g_loss) and math.isfinite(p.d_loss) for p in first.progress)
    sheet = Image.open(io.BytesIO(first.grids[-1][0]))
    assert sheet.size == (3 * 3 * 64, 3 * 4 * 64)  # input | output | target, 4 pairs, x3 to >= 512 px wide
    second = StubHooks()
    resumed = gans.train.train_gan(SPEC, config, photo_dir, tmp_path / "run", second)
    assert [p.step for p in second.progress] == [3]
    assert resumed.metrics["g_loss"] == straight.metrics["g_loss"]  # the same third step, bit for bit
