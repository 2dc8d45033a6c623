"""The conditional GAN: nets, config, training steps, exact resume, sheets, quality sets and export."""

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

from gans.cgan import SPEC, with_classes
from gans.configs.cgan import CGANConfig
from gans.errors import ConfigError, DatasetError
from gans.nets.cgan import build_discriminator, build_generator
from gans.registry import get_spec, make_config
from gans.train import Progress, TrainingHooks, train_gan

DIGITS = tuple(str(d) for d in range(10))
# 3 classes x 8 images / batch 8 = 3 steps per epoch; tiny widths keep a step a few milliseconds.
TINY = CGANConfig(class_names=("bar", "column", "square"), z_dim=8, g_filters=16, d_filters=8,
                  batch_size=8, seed=3)


def _shape(kind: str, offset: int, size: int = 28) -> np.ndarray:
    """Return a (size, size) uint8 picture of one white shape on black, shifted by offset."""
    image = np.zeros((size, size), np.uint8)
    middle = size // 2 + offset - 2
    if kind == "bar":
        image[middle - 2:middle + 2, 4:-4] = 255
    elif kind == "column":
        image[4:-4, middle - 2:middle + 2] = 255
    else:
        image[middle - 6:middle + 6, middle - 6:middle + 6] = 255
    return image


@pytest.fixture
def shapes_dir(tmp_path: Path) -> Path:
    """Return a labelled folder: bar/, column/, square/, 8 shifted grey shapes each."""
    root = tmp_path / "shapes"
    for name in TINY.class_names:
        (root / name).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(_shape(name, i % 5)).save(root / name / f"{i}.png")
    return root


def _inputs(count: int, config: CGANConfig = TINY) -> tuple[np.ndarray, np.ndarray]:
    z = np.random.default_rng(0).normal(size=(count, config.z_dim)).astype(np.float32)
    return z, (np.arange(count) % config.num_classes).astype(np.int32)


def test_default_nets_are_the_keras_io_recipe() -> None:
    config = CGANConfig(class_names=DIGITS)
    generator, discriminator = build_generator(config), build_discriminator(config)
    # (100 + 10) -> Dense 7*7*128 -> ConvT 128 (14x14) -> ConvT 128 (28x28) -> Conv 7x7 to 1 channel
    assert generator.count_params() == 111 * 6272 + 2 * (16 * 128 * 128 + 128) + (49 * 128 + 1)
    # (1 + 10 label planes) -> Conv 64 s2 -> Conv 128 s2 -> global max -> Dense 1: keras-io's 80,385
    assert discriminator.count_params() == 80_385
    shapes = [generator.get_layer(n).output.shape[1:] for n in ("up1", "up2", "images")]
    assert shapes == [(14, 14, 128), (28, 28, 128), (28, 28, 1)]
    images = generator(_inputs(2, config), training=False).numpy()
    assert images.shape == (2, 28, 28, 1) and -1.0 <= images.min() and images.max() <= 1.0
    assert discriminator([images, np.array([3, 9], np.int32)], training=False).shape == (2, 1)


@pytest.mark.parametrize(("image_size", "stages"), [(32, 2), (64, 3)])
def test_larger_sizes_and_colour(image_size: int, stages: int) -> None:
    config = dataclasses.replace(TINY, image_size=image_size, channels=3)
    generator, discriminator = build_generator(config), build_discriminator(config)
    assert len([layer for layer in generator.layers if layer.name.startswith("up")]) == stages
    images = generator(_inputs(2), training=False).numpy()
    assert images.shape == (2, image_size, image_size, 3)
    assert discriminator([images, np.array([0, 2], np.int32)]).shape == (2, 1)


def test_the_label_changes_the_image() -> None:
    generator = build_generator(TINY)
    z, _ = _inputs(4)
    first = generator([z, np.zeros(4, np.int32)], training=False).numpy()
    second = generator([z, np.ones(4, np.int32)], training=False).numpy()
    assert np.abs(first - second).mean() > 1e-4


@pytest.mark.parametrize("change", [
    {"image_size": 48}, {"channels": 2}, {"class_names": ("only",)}, {"class_names": ("a", "a")},
    {"class_names": ("a", "")}, {"class_names": "ab"}, {"z_dim": 0}, {"g_filters": 1.5},
    {"lr_d": 0.0}, {"lr_g": math.inf}, {"beta1": 1.0}, {"batch_size": 0}, {"seed": -1},
])
def test_validate_rejects_bad_values(change: dict) -> None:
    field = next(iter(change))
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(TINY, **change).validate()


def test_config_round_trips_through_json_and_classes_come_from_the_data(shapes_dir: Path) -> None:
    restored = CGANConfig.from_dict(json.loads(json.dumps(TINY.to_dict())))
    assert restored == TINY and isinstance(restored.class_names, tuple)
    unresolved = CGANConfig(z_dim=8).validate()  # () passes: the API checks before the data exists
    with pytest.raises(ConfigError, match="with_classes"):
        SPEC.build(unresolved)
    assert with_classes(unresolved, shapes_dir).class_names == ("bar", "column", "square")
    assert with_classes(TINY, "/nonexistent") is TINY  # already resolved: the data is not read


def test_data_functions_check_classes_and_size(shapes_dir: Path) -> None:
    assert SPEC.count_examples(TINY, shapes_dir) == 24
    with pytest.raises(DatasetError, match="dataset has 24 images, fewer than batch_size 32"):
        SPEC.count_examples(dataclasses.replace(TINY, batch_size=32), shapes_dir)
    renamed = dataclasses.replace(TINY, class_names=("bar", "square", "column"))
    with pytest.raises(DatasetError, match="label ids would change meaning"):
        SPEC.epoch_dataset(renamed, shapes_dir, 0)
    images, labels = next(iter(SPEC.epoch_dataset(TINY, shapes_dir, 0)))
    assert images.shape == (8, 28, 28, 1) and labels.dtype == tf.int32


def _steps(model, config: CGANConfig, data: Path, epoch: int, count: int) -> list[tuple[float, float]]:
    """Run count train steps on the given epoch's batches; return the (d_loss, g_loss) per step."""
    step = tf.function(model.train_step)
    losses = []
    for batch in SPEC.epoch_dataset(config, data, epoch).take(count):
        out = step(batch)
        losses.append((float(out["d_loss"]), float(out["g_loss"])))
    return losses


def test_train_steps_give_finite_losses(shapes_dir: Path) -> None:
    model = SPEC.build(TINY)
    before = [w.copy() for w in model.generator.get_weights()]
    losses = _steps(model, TINY, shapes_dir, 0, 3)
    assert len(losses) == 3 and all(math.isfinite(v) for pair in losses for v in pair)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.generator.get_weights(), strict=True))


def test_checkpoint_restore_resumes_exactly(shapes_dir: Path, tmp_path: Path) -> None:
    straight = SPEC.build(TINY)
    _steps(straight, TINY, shapes_dir, 0, 2)
    path = tf.train.Checkpoint(**straight.trackables()).write(str(tmp_path / "ckpt" / "c"))
    expected = _steps(straight, TINY, shapes_dir, 1, 2)

    resumed = SPEC.build(TINY)  # fresh weights, optimizers and rng, all overwritten by the restore
    tf.train.Checkpoint(**resumed.trackables()).read(path).assert_consumed()
    assert _steps(resumed, TINY, shapes_dir, 1, 2) == expected  # bit for bit
    for net in ("generator", "discriminator"):
        for a, b in zip(getattr(straight, net).get_weights(), getattr(resumed, net).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)


def test_sample_sheet_has_one_row_per_class(shapes_dir: Path) -> None:
    model = SPEC.build(TINY)
    inputs = SPEC.sample_inputs(TINY, shapes_dir)
    assert inputs[1].numpy().tolist() == [0] * 8 + [1] * 8 + [2] * 8
    sheet = SPEC.sample_sheet(model, inputs)
    assert sheet.shape == (3 * 28, 8 * 28, 1) and sheet.dtype == np.uint8
    np.testing.assert_array_equal(sheet, SPEC.sample_sheet(model, SPEC.sample_inputs(TINY, shapes_dir)))
    many = dataclasses.replace(TINY, class_names=tuple(f"c{i:02d}" for i in range(23)))
    z, labels = SPEC.sample_inputs(many, shapes_dir)
    shown = labels.numpy()[::8].tolist()
    assert len(shown) == 10 and shown[0] == 0 and shown[-1] == 22 and shown == sorted(set(shown))
    np.testing.assert_array_equal(z[:8], z[8:16])  # the same latents in every row


def test_quality_images_are_fixed_and_share_the_label_mix(shapes_dir: Path) -> None:
    model = SPEC.build(TINY)
    real, generated = SPEC.quality_images(model, TINY, shapes_dir, 10)
    assert real.shape == generated.shape == (10, 28, 28, 1)
    assert real.dtype == generated.dtype == np.uint8
    real_again, generated_again = SPEC.quality_images(model, TINY, shapes_dir, 10)
    np.testing.assert_array_equal(real, real_again)
    np.testing.assert_array_equal(generated, generated_again)
    assert SPEC.quality_images(model, TINY, shapes_dir, 100)[1].shape[0] == 24  # all there is


def test_export_runs_in_a_fresh_process_with_only_tensorflow(tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, precision="float32")  # exact in-process == export pixels: float32 (bf16 +-1)
    model = SPEC.build(config)
    export_dir = tmp_path / "model" / "1"
    SPEC.export(model, config, export_dir, {"job_id": "j-1"})
    metadata = json.loads((export_dir / "metadata.json").read_text())
    assert metadata.pop("signature")["key"] == "serving_default"  # the whole of it: test_gans_contract
    assert metadata == {"kind": "conditional", "model": "cgan", "image_size": 28, "channels": 1, "z_dim": 8,
                        "classes": ["bar", "column", "square"], "job_id": "j-1"}
    z, labels = _inputs(5)
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        serve = tf.saved_model.load({str(export_dir)!r}).signatures["serving_default"]
        z, label = tf.constant(np.load({str(tmp_path / "z.npy")!r})), tf.constant({labels.tolist()}, tf.int32)
        first, second = serve(z=z, label=label)["images"].numpy(), serve(z=z, label=label)["images"].numpy()
        assert first.dtype == np.uint8 and first.shape == (5, 28, 28, 1), first.shape
        assert first.tobytes() == second.tobytes()
        try:
            serve(z=z[:1], label=tf.constant([3], tf.int32))
            raise SystemExit("label 3 of 3 classes was accepted")
        except tf.errors.InvalidArgumentError:
            pass
        assert not any(m.startswith("gans") for m in sys.modules), "needs no project code"
        np.save({str(tmp_path / "out.npy")!r}, first)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    expected = tf.cast(tf.round((model((z, labels)) + 1.0) * 127.5), tf.uint8).numpy()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


class Hooks(TrainingHooks):
    """Record steps, sheets and checkpoints; ask to stop once stop_after steps were reported."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after, self.steps, self.sheets, self.checkpoints = stop_after, [], [], []

    def on_progress(self, progress: Progress) -> None:
        self.steps.append(progress.step)

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.sheets.append((png, step))

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.checkpoints.append(step)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.steps) >= self.stop_after


def test_train_gan_trains_and_resumes_the_cgan_exactly(shapes_dir: Path, tmp_path: Path) -> None:
    # The worker's path: params without class names, filled from the data by the registry.
    params = {**TINY.to_dict(), "class_names": [], "epochs": 2, "sample_every_steps": 3, "quality_samples": 16}
    config = make_config(get_spec("cgan"), params, shapes_dir)
    assert config.class_names == TINY.class_names
    straight = train_gan(SPEC, config, shapes_dir, tmp_path / "straight", Hooks())
    assert (straight.stopped, straight.step) == (False, 6) and math.isfinite(straight.metrics["swd_mean"])

    stopping = Hooks(stop_after=4)
    assert train_gan(SPEC, config, shapes_dir, tmp_path / "resumed", stopping).stopped
    resuming = Hooks()
    resumed = train_gan(SPEC, config, shapes_dir, tmp_path / "resumed", resuming)
    assert resuming.steps == [5, 6] and resumed.metrics["g_loss"] == straight.metrics["g_loss"]
    for a, b in zip(straight.model.generator.get_weights(), resumed.model.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    sheet = Image.open(io.BytesIO(resuming.sheets[-1][0]))
    assert sheet.size == (3 * 8 * 28, 3 * 3 * 28) and sheet.mode == "L"  # 8 per class, a row per class, x3 to >= 512 px
