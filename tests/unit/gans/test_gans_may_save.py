"""The hooks decide whether a run may still write: once may_save() says no, no checkpoint, history or run files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gans.configs.dcgan import DCGANConfig
from gans.train import Progress, TrainingHooks, train_dcgan

# 20 images / batch 8 = 2 steps per epoch
TINY = DCGANConfig(image_size=32, g_filters=32, d_filters=8, batch_size=8, epochs=3, sample_every_steps=100, seed=5)


class TakenOver(TrainingHooks):
    """Another process takes the run over after `taken_at` steps; `fail` raises then instead of asking to stop."""

    def __init__(self, taken_at: int, fail: bool = False) -> None:
        self.taken_at, self.fail = taken_at, fail
        self.step, self.saved, self.files = 0, [], []

    def on_progress(self, progress: Progress) -> None:
        self.step = progress.step
        if self.fail and self.step > self.taken_at:
            raise RuntimeError("the job is another worker's now")

    def on_checkpoint(self, path: str, step: int, epoch: int, metrics: dict[str, float],
                      digest: str | None = None) -> None:
        self.saved.append(step)

    def on_run_files(self, loss_curve_png: bytes, tensorboard_dir: str) -> None:
        self.files.append(tensorboard_dir)

    def should_stop(self) -> bool:
        return self.step > self.taken_at

    def may_save(self) -> bool:
        return self.step <= self.taken_at


def _on_disk(directory: Path) -> tuple[list[str], list[int]]:
    checkpoints = sorted(p.name for p in directory.rglob("ckpt-*.index"))
    history = [json.loads(line)["step"] for line in (directory / "history.jsonl").read_text().splitlines()]
    return checkpoints, history


@pytest.mark.parametrize("fail", [False, True], ids=["stopped", "failed"])
def test_a_run_taken_over_saves_nothing_on_its_way_out(image_dir: Path, tmp_path: Path, fail: bool) -> None:
    hooks = TakenOver(taken_at=2, fail=fail)  # taken over right after the epoch-1 checkpoint
    if fail:
        with pytest.raises(RuntimeError):
            train_dcgan(TINY, image_dir, tmp_path / "ckpt", hooks)
    else:
        assert train_dcgan(TINY, image_dir, tmp_path / "ckpt", hooks).stopped
    assert hooks.saved == [2] and hooks.files == []
    assert _on_disk(tmp_path / "ckpt") == (["ckpt-2.index"], [1, 2])  # step 3 is not written anywhere
