"""max_minutes: a run plans its steps, decays its rates to the floor by then, ends there, resumes exactly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import dataclasses

from gans.budget import REPLAN_UNTIL, lr_factor, recorded_plan, replan
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


def test_a_faster_machine_extends_the_plan_and_the_rates_continue_without_a_jump() -> None:
    # planned at step 10 for 110 (1 s a step); at step 60, 30 s into a 600 s budget, steps take 0.5 s
    planned = DCGANConfig(max_minutes=10.0, lr_floor=0.2, planned_steps=110, planned_from=10)
    moved = replan(planned, 60, elapsed=30.0, seconds_per_step=0.5, cap=10**15)
    assert moved.planned_from == 60 and moved.planned_steps == 60 + int((600 * 0.97 - 30) / (0.5 * 1.1))
    assert moved.earlier_plans == ((10, 110, 1.0),) and moved.plan_start_factor == pytest.approx(0.6)
    assert lr_factor(60, moved) == lr_factor(60, planned) == pytest.approx(0.6)  # steps already run keep theirs
    assert lr_factor(61, moved) == pytest.approx(0.6, abs=1e-4)  # continuous at the re-plan
    assert lr_factor(moved.planned_steps, moved) == pytest.approx(0.2)  # the floor at the new end
    assert [lr_factor(s, moved) for s in (5, 35)] == [lr_factor(s, planned) for s in (5, 35)]


def test_a_plan_is_kept_within_tolerance_late_in_the_budget_and_at_its_end() -> None:
    planned = DCGANConfig(max_minutes=10.0, planned_steps=1000, planned_from=10)
    at_speed = (600 * 0.97 - 30) / (1000 - 60) / 1.1  # the speed that lands on the plan's end
    assert replan(planned, 60, 30.0, at_speed * 1.05, cap=10**15) is planned
    assert replan(planned, 60, REPLAN_UNTIL * 600, 0.01, cap=10**15) is planned
    assert replan(planned, 1000, 30.0, 0.01, cap=10**15) is planned
    slower = replan(planned, 60, 30.0, at_speed * 2, cap=10**15)  # a slower machine ends sooner, decaying faster
    assert 60 < slower.planned_steps < 1000 and slower.earlier_plans == ((10, 1000, 1.0),)
    assert replan(planned, 60, 30.0, 0.001, cap=500).planned_steps == 500  # never past max_steps


def test_re_plans_are_recorded_and_read_back_for_a_resume() -> None:
    planned = DCGANConfig(max_minutes=10.0, lr_floor=0.2, planned_steps=110, planned_from=10)
    moved = replan(planned, 60, elapsed=30.0, seconds_per_step=0.5, cap=10**15)
    recorded = json.loads(json.dumps(moved.to_dict()))  # as config.json keeps it
    again = recorded_plan(dataclasses.replace(planned, planned_steps=None, planned_from=None), recorded)
    assert again.earlier_plans == moved.earlier_plans and again.plan_start_factor == moved.plan_start_factor
    assert [lr_factor(s, again) for s in range(1, 400)] == [lr_factor(s, moved) for s in range(1, 400)]


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
    again, start = Losses(), time.monotonic()
    resumed = train_dcgan(BUDGETED, images, resumed_dir, again)
    took = time.monotonic() - start
    assert resumed.config.planned_steps == planned and resumed.step <= planned and min(again.by_step) == from_step + 1
    # the resumed start has a budget of its own: it reaches the plan's end, or a loaded machine spends it first
    assert resumed.step == planned or (took >= BUDGET_MINUTES * 60 and resumed.step > from_step)
    common = range(from_step + 1, min(result.step, resumed.step) + 1)
    assert {s: again.by_step[s] for s in common} == {s: hooks.by_step[s] for s in common}
