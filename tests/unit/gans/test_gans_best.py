"""The best checkpoint by the sliced Wasserstein distance survives a stop and a resume."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from gans.checkpoints import BEST_SCORE_FILE, read_best_score, write_best_score
from gans.configs.dcgan import DCGANConfig
from gans.train import TrainingHooks, train_dcgan

# 20 images / batch 8 = 2 steps per epoch; quality measured at every epoch end (steps 2, 4, 6). At this
# size the distance grows as training goes on (seed 5: ~253, ~264, ~272), so step 2 stays the best.
MEASURED = DCGANConfig(image_size=32, g_filters=64, d_filters=16, batch_size=8, epochs=3,
                       sample_every_steps=4, seed=5, swd_every_epochs=1)


class QualityHooks(TrainingHooks):
    """Record quality and the kept/best reports; ask to stop once stop_after steps ran."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after, self.steps = stop_after, 0
        self.quality: list[tuple[int, float]] = []
        self.best: list[str | None] = []

    def on_progress(self, progress: object) -> None:
        self.steps += 1

    def on_quality(self, step: int, metrics: dict[str, float]) -> None:
        self.quality.append((step, metrics["swd_mean"]))

    def on_checkpoints_kept(self, kept: list[str], best: str | None) -> None:
        self.best.append(best)

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.steps >= self.stop_after


def test_a_resumed_run_that_measures_worse_keeps_the_earlier_best(image_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = QualityHooks(stop_after=2)  # epoch 1 ends (measured, best saved), then the run stops
    assert train_dcgan(MEASURED, image_dir, run, first).stopped
    assert [step for step, _ in first.quality] == [2]
    best_swd = first.quality[0][1]
    assert first.best[-1] == str(run / "best" / "ckpt-2")

    resumed = QualityHooks()
    result = train_dcgan(MEASURED, image_dir, run, resumed)
    assert result.step == 6 and [step for step, _ in resumed.quality] == [4, 6, 6]
    assert all(swd > best_swd for _, swd in resumed.quality), "premise: every later measure is worse"
    assert resumed.best and set(resumed.best) == {str(run / "best" / "ckpt-2")}
    assert sorted(p.name for p in (run / "best").glob("ckpt-*.index")) == ["ckpt-2.index"]  # not pruned
    assert json.loads((run / "best" / BEST_SCORE_FILE).read_text()) == {"checkpoint": "ckpt-2",
                                                                        "swd_mean": best_swd}


def test_a_score_of_another_checkpoint_is_not_trusted(tmp_path: Path) -> None:
    write_best_score(str(tmp_path / "ckpt-4"), 12.5)
    assert read_best_score(str(tmp_path / "ckpt-4")) == 12.5
    assert read_best_score(str(tmp_path / "ckpt-6")) is None  # a crash between saving and scoring ckpt-6
    assert read_best_score(None) is None
    (tmp_path / BEST_SCORE_FILE).write_text("not json")
    assert read_best_score(str(tmp_path / "ckpt-4")) is None
