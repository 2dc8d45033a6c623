"""Run DCGAN on one CPU device and mirrored on two logical ones; print what test_gans_replicas compares, as JSON.

A separate process: logical devices must be configured before TensorFlow starts its runtime, which the
test process has long done. Usage: python replica_runs.py IMAGE_DIR WORK_DIR [VARIANT ...] (default: all of VARIANTS)
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import tensorflow as tf

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402 - after the devices are configured

import gans.nets.dcgan as nets  # noqa: E402
from gans.configs.dcgan import DCGANConfig  # noqa: E402
from gans.dcgan import SPEC  # noqa: E402
from gans.errors import ConfigError  # noqa: E402
from gans.replicas import SharedGenerator, training_strategy  # noqa: E402
from gans.train import TrainResult, train_gan  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout, for tests.*
from tests.unit.gans.test_gans_train import RecordingHooks  # noqa: E402

TWO = ["/cpu:0", "/cpu:1"]
# 20 images / batch 8 = 2 steps an epoch, 3 epochs = 6 steps; 4 images per replica.
CONFIG = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3, sample_every_steps=4,
                     seed=5, profile="cpu", diffaugment=True, ema_decay=0.9, precision="float32")
VARIANTS = {"keras_io": CONFIG, "chunks": dataclasses.replace(CONFIG, steps_per_call=3),
            "reuse_fakes": dataclasses.replace(CONFIG, reuse_fakes=True),
            "reuse_fakes_chunks": dataclasses.replace(CONFIG, reuse_fakes=True, steps_per_call=3)}


def weights(result: TrainResult) -> list[np.ndarray]:
    model = result.model
    return [np.asarray(w) for net in (model.generator, model.discriminator, model.ema_generator)
            for w in net.get_weights()]


def largest_difference(a: TrainResult, b: TrainResult) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(weights(a), weights(b), strict=True))


def run(config: DCGANConfig, images: Path, folder: Path, devices: list[str],
        stop_after: int | None = None) -> tuple[TrainResult, list[list[float]]]:
    hooks = RecordingHooks(stop_after)
    result = train_gan(SPEC, config, images, folder, hooks, devices=devices)
    return result, [[p.d_loss, p.g_loss] for p in hooks.progress]


def run_with_synchronized_batch_norm(config: DCGANConfig, images: Path, folder: Path) -> tuple[TrainResult, list]:
    """One device, its batch norm built as the replicas build it (variance as E[x^2] - E[x]^2)."""
    plain = nets.replicated
    nets.replicated = lambda: True
    try:
        return run(config, images, folder, ["/cpu:0"])
    finally:
        nets.replicated = plain


def compare(config: DCGANConfig, images: Path, work: Path) -> dict[str, object]:
    """One device (plain, and with the replicas' batch-norm formula) vs two replicas; and two replicas stopped
    at step 3 and resumed vs uninterrupted."""
    single, single_losses = run(config, images, work / "single", ["/cpu:0"])
    same_formula, same_formula_losses = run_with_synchronized_batch_norm(config, images, work / "same_formula")
    mirrored, mirrored_losses = run(config, images, work / "mirrored", TWO)
    _, before = run(config, images, work / "resumed", TWO, stop_after=3)
    resumed, after = run(config, images, work / "resumed", TWO)
    _, _ = run(config, images, work / "to_one", TWO, stop_after=3)
    _, on_one = run(config, images, work / "to_one", ["/cpu:0"])  # a mirrored checkpoint resumed on one device
    return {
        "single": single_losses, "same_formula": same_formula_losses, "mirrored": mirrored_losses,
        "resumed": before + after, "resumed_on_one": on_one, "weight_difference": largest_difference(single, mirrored),
        "same_formula_weight_difference": largest_difference(same_formula, mirrored),
        "resume_exact": all(np.array_equal(a, b) for a, b in zip(weights(mirrored), weights(resumed), strict=True)),
        "replicas": mirrored.metrics.get("replicas"), "single_replicas": single.metrics.get("replicas"),
    }


def shared_draws() -> dict[str, object]:
    """What a SharedGenerator draws on each of two replicas vs. one device's draw of the whole batch."""
    strategy = training_strategy(TWO)
    with strategy.scope():
        shared = SharedGenerator.from_seed(3)
    parts = strategy.run(lambda: shared.normal([2, 3])).values
    one = SharedGenerator.from_seed(3)
    whole = one.normal([4, 3])
    return {"rows_match": bool(np.array_equal(np.concatenate([p.numpy() for p in parts]), whole.numpy())),
            "state_match": bool(np.array_equal(shared.state.numpy(), one.state.numpy()))}


def main() -> None:
    images, work = Path(sys.argv[1]), Path(sys.argv[2])
    found: dict[str, object] = {"draws": shared_draws()}
    for name in sys.argv[3:] or VARIANTS:
        found[name] = compare(VARIANTS[name], images, work / name)
    try:
        run(dataclasses.replace(CONFIG, batch_size=9), images, work / "odd", TWO)
        found["odd_batch"] = "trained"
    except ConfigError as error:
        found["odd_batch"] = str(error)
    print("RESULT " + json.dumps(found))


if __name__ == "__main__":
    main()
