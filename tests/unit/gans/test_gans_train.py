"""train_dcgan: progress, checkpoints, samples, stopping and exact resume."""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gans.configs.dcgan import DCGANConfig
from gans.dcgan import build as build_dcgan
from gans.errors import ConfigError, DatasetError
from gans.precision import cpu_has_bf16
from gans.train import Progress, TrainingHooks, TrainResult, train_dcgan

# 20 images / batch 8 = 2 steps per epoch; 3 epochs = 6 steps.
TINY = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3,
                   sample_every_steps=4, seed=5)


class RecordingHooks(TrainingHooks):
    """Record every hook call; ask to stop once stop_after steps were reported."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.progress: list[Progress] = []
        self.checkpoints: list[tuple[str, int, int, dict[str, float]]] = []
        self.grids: list[tuple[bytes, int]] = []
        self.quality: list[tuple[int, dict[str, float]]] = []
        self.kept: list[tuple[list[str], str | None]] = []
        self.files: list[tuple[bytes, str]] = []

    def on_progress(self, progress: Progress) -> None:
        self.progress.append(progress)

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.checkpoints.append((path, step, epoch, metrics))

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.grids.append((png, step))

    def on_quality(self, step: int, metrics: dict[str, float]) -> None:
        self.quality.append((step, metrics))

    def on_checkpoints_kept(self, kept: list[str], best: str | None) -> None:
        self.kept.append((kept, best))

    def on_run_files(self, loss_curve_png: bytes, tensorboard_dir: str) -> None:
        self.files.append((loss_curve_png, tensorboard_dir))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.progress) >= self.stop_after


def _weights(result: TrainResult) -> list[np.ndarray]:
    model = result.model
    nets = [model.generator, model.discriminator]
    if model.ema_generator is not None:
        nets.append(model.ema_generator)
    return [w for net in nets for w in net.get_weights()]


def test_short_run_reports_checkpoints_and_samples(image_dir: Path, tmp_path: Path) -> None:
    hooks = RecordingHooks()
    result = train_dcgan(TINY, image_dir, tmp_path / "ckpt", hooks)
    steps = [p.step for p in hooks.progress]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert [p.epoch for p in hooks.progress] == [1, 1, 2, 2, 3, 3]
    assert all(p.total_steps == 6 and p.images_per_second > 0 for p in hooks.progress)
    assert all(math.isfinite(p.g_loss) and math.isfinite(p.d_loss) for p in hooks.progress)
    assert hooks.progress[0].eta_seconds is None and hooks.progress[-1].eta_seconds == 0
    assert [(step, epoch) for _, step, epoch, _ in hooks.checkpoints] == [(2, 1), (4, 2), (6, 3)]
    assert Path(hooks.checkpoints[-1][0] + ".index").exists()
    assert len(list((tmp_path / "ckpt").glob("ckpt-*.index"))) == 3
    assert (tmp_path / "ckpt" / "config.json").exists()
    assert [step for _, step in hooks.grids] == [4, 6]  # every 4 steps, and at the end
    grid = Image.open(io.BytesIO(hooks.grids[-1][0]))
    assert grid.size == (512, 512) and grid.mode == "RGB"  # an 8x8 sheet of 32 px cats, enlarged x2 for viewing
    assert (result.stopped, result.step, result.epoch) == (False, 6, 3)
    assert result.metrics["g_loss"] == hooks.progress[-1].g_loss
    assert set(result.metrics) == {"g_loss", "d_loss", "images_per_second", "swd_mean", "swd_32px", "swd_16px",
                                   "fid", "kid", "fid_note", "profile", "precision"}
    assert result.metrics["profile"] == "cpu"  # auto, on a machine without a GPU
    assert result.metrics["precision"] == ("mixed_bfloat16" if cpu_has_bf16() else "float32")  # auto, by this CPU
    assert (result.metrics["fid"], result.metrics["kid"]) == ("unavailable", "unavailable")  # never faked
    assert "CATGAN_INCEPTION_WEIGHTS" in result.metrics["fid_note"]
    assert result.metrics["swd_mean"] > 0  # measured at the end of the run
    assert hooks.quality == [(6, {k: v for k, v in result.metrics.items() if k.startswith("swd")})]
    assert len(hooks.kept[-1][0]) == 3 and hooks.kept[-1][1].endswith("best/ckpt-6")
    curve = Image.open(io.BytesIO(hooks.files[0][0]))
    assert curve.format == "PNG" and curve.width > 400
    assert any(Path(hooks.files[0][1]).glob("events.out.tfevents.*"))
    history = (tmp_path / "ckpt" / "history.jsonl").read_text().splitlines()
    assert len(history) == 7  # six steps of losses and one quality row


def test_max_steps_caps_the_run(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, max_steps=3, checkpoint_every_epochs=5)
    hooks = RecordingHooks()
    result = train_dcgan(config, image_dir, tmp_path / "ckpt", hooks)
    assert result.step == 3 and hooks.progress[-1].total_steps == 3
    assert [step for _, step, _, _ in hooks.checkpoints] == [3]  # only the final one


def test_too_few_images_is_a_clear_error(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, batch_size=32)
    with pytest.raises(DatasetError, match="dataset has 20 images, fewer than batch_size 32"):
        train_dcgan(config, image_dir, tmp_path / "ckpt", RecordingHooks())


def test_stop_then_resume_matches_an_uninterrupted_run(image_dir: Path, tmp_path: Path) -> None:
    """Stopping mid-epoch and resuming replays the same batches, latents and augmentations."""
    config = dataclasses.replace(TINY, diffaugment=True, ema_decay=0.9)
    straight = train_dcgan(config, image_dir, tmp_path / "straight", RecordingHooks())

    stopping = RecordingHooks(stop_after=3)
    stopped = train_dcgan(config, image_dir, tmp_path / "resumed", stopping)
    assert (stopped.stopped, stopped.step, stopped.epoch) == (True, 3, 2)
    assert [step for _, step, _, _ in stopping.checkpoints] == [2, 3]  # epoch end, then stop

    resuming = RecordingHooks()
    resumed = train_dcgan(config, image_dir, tmp_path / "resumed", resuming)
    assert [p.step for p in resuming.progress] == [4, 5, 6]  # continues, does not add 6 more
    assert (resumed.stopped, resumed.step) == (False, 6)
    assert resumed.metrics["g_loss"] == straight.metrics["g_loss"]
    for a, b in zip(_weights(straight), _weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)  # exact: same ops, same inputs, same rng state

    again = RecordingHooks()
    finished = train_dcgan(config, image_dir, tmp_path / "resumed", again)
    assert finished.step == 6 and again.progress == [] and len(again.grids) == 1


def test_stop_before_the_first_step_still_checkpoints(image_dir: Path, tmp_path: Path) -> None:
    hooks = RecordingHooks(stop_after=0)
    result = train_dcgan(TINY, image_dir, tmp_path / "ckpt", hooks)
    assert result.stopped and result.step == 0 and hooks.progress == []
    assert len(hooks.checkpoints) == 1


def test_resume_refuses_another_architecture(image_dir: Path, tmp_path: Path) -> None:
    train_dcgan(dataclasses.replace(TINY, max_steps=1), image_dir, tmp_path / "c", RecordingHooks())
    wider = dataclasses.replace(TINY, g_filters=128)
    with pytest.raises(ConfigError, match="g_filters=64"):
        train_dcgan(wider, image_dir, tmp_path / "c", RecordingHooks())


def test_time_budget_ends_the_run_normally_before_its_target(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, epochs=10_000, max_seconds=6.0)
    hooks = RecordingHooks()
    result = train_dcgan(config, image_dir, tmp_path / "ckpt", hooks)
    assert not result.stopped
    assert 0 < result.step < 20_000
    assert hooks.checkpoints[-1][1] == result.step  # the run ends with a checkpoint and a sample sheet
    assert hooks.grids[-1][1] == result.step
    if len(hooks.progress) >= 2:  # once the speed is known, progress is told the budget, not the epoch target
        assert hooks.progress[-1].total_steps < 20_000


def test_ema_generator_follows_g_early_on(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, ema_decay=0.999, epochs=2)
    result = train_dcgan(config, image_dir, tmp_path / "ckpt", RecordingHooks())
    model = result.model
    initial = build_dcgan(config).ema_generator.get_weights()
    trained_g, ema = model.generator.get_weights(), model.ema_generator.get_weights()
    # with warm-up, after 4 updates the average sits near G, far from the initial weights
    moved = sum(float(np.abs(e - i).sum()) for e, i in zip(ema, initial, strict=True))
    gap = sum(float(np.abs(e - g).sum()) for e, g in zip(ema, trained_g, strict=True))
    assert gap < 0.5 * moved
    assert int(model.ema_updates.numpy()) == result.step


class FailingHooks(RecordingHooks):
    """Fail like an unexpected error inside the run (a full disk, a lost database) after `fail_at` steps."""

    def __init__(self, fail_at: int):
        super().__init__()
        self.fail_at = fail_at

    def on_progress(self, progress: Progress) -> None:
        super().on_progress(progress)
        if progress.step == self.fail_at:
            raise OSError("disk full")


def test_a_failing_run_leaves_a_checkpoint_of_its_progress(image_dir: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, checkpoint_every_epochs=100)
    hooks = FailingHooks(fail_at=3)
    with pytest.raises(OSError, match="disk full"):
        train_dcgan(config, image_dir, tmp_path / "ckpt", hooks)
    assert [step for _, step, _, _ in hooks.checkpoints] == [3]
    resumed = train_dcgan(config, image_dir, tmp_path / "ckpt", RecordingHooks())
    assert resumed.step == 6
