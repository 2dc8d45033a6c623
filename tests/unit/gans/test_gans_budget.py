"""max_minutes: a run plans its steps, decays its rates to the floor by then, ends there, resumes exactly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from gans.budget import lr_factor
from gans.configs.dcgan import DCGANConfig
from gans.train import Progress, TrainingHooks, train_dcgan
from tests.support.images import write_images

BUDGET_MINUTES = 0.15  # 9 s
# 96 images (too few to hold any out) / batch 8 = 12 steps per epoch; epochs=1 would end after 12 steps, but
# max_minutes overrides it.
BUDGETED = DCGANConfig(image_size=32, g_filters=32, d_filters=8, z_dim=16, batch_size=8, epochs=1,
                       max_minutes=BUDGET_MINUTES, lr_floor=0.1, checkpoint_every_epochs=1, keep_checkpoints=1000,
                       sample_every_steps=100_000, quality_samples=16, seed=9)


class Losses(TrainingHooks):
    """Record each step's losses."""

    def __init__(self) -> None:
        self.by_step: dict[int, tuple[float, float]] = {}

    def on_progress(self, progress: Progress) -> None:
        self.by_step[progress.step] = (progress.g_loss, progress.d_loss)


def test_lr_factor_is_flat_until_the_plan_then_a_cosine_to_the_floor() -> None:
    planned = DCGANConfig(max_minutes=1.0, lr_floor=0.2, planned_steps=110, planned_from=10)
    assert [lr_factor(s, planned) for s in (1, 10)] == [1.0, 1.0]
    assert lr_factor(60, planned) == pytest.approx(0.6)
    assert lr_factor(110, planned) == pytest.approx(0.2) and lr_factor(500, planned) == pytest.approx(0.2)
    assert lr_factor(60, DCGANConfig(max_minutes=1.0)) == 1.0  # no plan yet


@pytest.fixture
def images(tmp_path: Path) -> Path:
    return write_images(tmp_path / "images", 96, size=32)[0].parent


def test_a_budgeted_run_plans_ends_near_the_budget_and_resumes_bit_for_bit(images: Path, tmp_path: Path) -> None:
    hooks, start = Losses(), time.monotonic()
    result = train_dcgan(BUDGETED, images, tmp_path / "a", hooks)
    took = time.monotonic() - start
    planned = result.config.planned_steps
    assert result.metrics["planned_steps"] == planned and planned > result.config.planned_from >= 12
    assert json.loads((tmp_path / "a" / "config.json").read_text())["planned_steps"] == planned
    assert not result.stopped and result.step > 12  # far past epochs=1's 12 steps
    if result.step == planned:  # the usual end: the plan, with the rates decayed to the floor
        rates = [float(opt.learning_rate) for opt in (result.model.g_optimizer, result.model.d_optimizer)]
        assert rates == pytest.approx([2e-4 * 0.1, 2e-4 * 0.1])  # the cpu profile's rates, at the floor
    else:  # a machine that slowed down after planning: the budget itself ended the run, never anything sooner
        assert result.step < planned and took >= BUDGET_MINUTES * 60

    # resume a copy of a checkpoint past the plan's start: the same losses, step for step, to the same plan
    from_step = next(s for s in range(12, result.step, 12) if s > result.config.planned_from)
    resumed_dir = tmp_path / "b"
    resumed_dir.mkdir()
    for path in (tmp_path / "a").glob(f"ckpt-{from_step}.*"):
        shutil.copy(path, resumed_dir / path.name)
    shutil.copy(tmp_path / "a" / "config.json", resumed_dir / "config.json")
    again = Losses()
    resumed = train_dcgan(BUDGETED, images, resumed_dir, again)
    assert resumed.config.planned_steps == planned and resumed.step <= planned and min(again.by_step) == from_step + 1
    common = range(from_step + 1, min(result.step, resumed.step) + 1)
    assert len(common) >= 12 and {s: again.by_step[s] for s in common} == {s: hooks.by_step[s] for s in common}
