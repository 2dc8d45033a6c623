"""max_minutes: a run's plan (how many steps fit its budget) and the learning-rate decay that fits it.

Wall-clock time must not make two runs of the same seed differ step by step, so time is read once:
after a warm-up (a whole epoch, so its end's checkpoint and new pipeline are timed too, at least
PLAN_MIN_STEPS timed steps and PLAN_FRACTION of the budget), the trainer fixes
`planned_steps` (the step the run ends at) and `planned_from` (the step the plan was made at) and
records both in the run's config.json. From then on everything is a function of the step: the
learning rates keep their values up to planned_from, then follow a cosine from them down to
lr_floor x them at planned_steps; a resumed run reads the plan back and replays the same rates.
The run ends at planned_steps, or at the budget if the machine slows down first; each start of a
run (a resume too) may run for at most the budget.

A shared machine's speed changes (a plan made while other work kept its cores busy once ended a
30-minute run after 21): at each epoch end the start of the run that made the plan checks it against
the speed of the last steps, and when the steps left would change by more than REPLAN_TOLERANCE it
re-plans: the old plan is kept in `earlier_plans` and a new cosine runs from the rates' present factor
(no jump) to the floor at the new end. A resumed run replays the recorded plans and never re-plans.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import keras

from gans.checkpoints import read_config
from gans.common import has_gpu
from gans.precision import resolve_precision
from gans.spec import ModelSpec

PLAN_MIN_STEPS = 10  # timed steps (the first, tracing step left out) before the plan is made
PLAN_FRACTION = 0.05  # ... and at least this share of the budget spent
END_RESERVE = 0.03  # share of the budget kept for the final sample sheet, quality figures and checkpoint
SPEED_MARGIN = 1.1  # the steps to come are planned this much slower than the warm-up's (sheets, noise)


def budget_seconds(config: Any) -> float | None:
    """Return the run's time budget in seconds: max_minutes (capped by max_seconds), or None without one."""
    if config.max_minutes is None:
        return None
    budget = config.max_minutes * 60.0
    return budget if config.max_seconds is None else min(budget, config.max_seconds)


REPLAN_TOLERANCE = 0.1  # re-plan when the steps left would change by more than this share of them
REPLAN_UNTIL = 0.85  # ... and this share of the budget is not yet spent (the rates are near the floor then)
MAX_REPLANS = 16  # plans a run may replace (config.json stays small)


def lr_factor(step: int, config: Any) -> float:
    """Return the multiplier of the learning rates for training step `step` (1-based) under the plan
    that was in force at that step (the newest whose planned_from lies before it)."""
    if config.max_minutes is None or config.planned_steps is None:
        return 1.0
    plans = (*config.earlier_plans, (config.planned_from, config.planned_steps, config.plan_start_factor))
    begun = [plan for plan in plans if step > plan[0]]
    if not begun:
        return 1.0
    start, end, first = begun[-1]
    progress = min((step - start) / max(end - start, 1), 1.0)
    return config.lr_floor + (first - config.lr_floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def replan(config: Any, step: int, elapsed: float, seconds_per_step: float, cap: int) -> Any:
    """Return config re-planned at `step` if the speed of late moves the end by more than REPLAN_TOLERANCE of
    the steps left (the old plan kept in earlier_plans, the rates continuing from their present factor);
    config itself otherwise, or once REPLAN_UNTIL of the budget is spent, the plan has ended, or MAX_REPLANS."""
    budget = budget_seconds(config)
    if (budget is None or config.planned_steps is None or step >= config.planned_steps
            or elapsed >= REPLAN_UNTIL * budget or len(config.earlier_plans) >= MAX_REPLANS):
        return config
    fresh = make_plan(config, step, elapsed, seconds_per_step, cap).planned_steps
    if abs(fresh - config.planned_steps) <= REPLAN_TOLERANCE * (config.planned_steps - step):
        return config
    replaced = (config.planned_from, config.planned_steps, config.plan_start_factor)
    return dataclasses.replace(config, earlier_plans=(*config.earlier_plans, replaced), planned_from=step,
                               planned_steps=fresh, plan_start_factor=lr_factor(step, config))


def make_plan(config: Any, step: int, elapsed: float, seconds_per_step: float, cap: int) -> Any:
    """Return config with its plan: the steps that fit the rest of the budget at this speed, at most cap."""
    budget = budget_seconds(config)
    assert budget is not None
    left = budget * (1.0 - END_RESERVE) - elapsed
    planned = min(cap, step + max(0, int(left / max(seconds_per_step * SPEED_MARGIN, 1e-9))))
    return dataclasses.replace(config, planned_steps=max(planned, step), planned_from=step)


def ready_to_plan(config: Any, timed_steps: int, elapsed: float, epoch_steps: int) -> bool:
    """Tell whether a budgeted run without a plan has warmed up enough to make one."""
    budget = budget_seconds(config)
    return (budget is not None and config.planned_steps is None and timed_steps >= max(PLAN_MIN_STEPS, epoch_steps)
            and elapsed >= PLAN_FRACTION * budget)


def recorded_plan(config: Any, recorded: dict[str, Any] | None) -> Any:
    """Return config with the plan its run recorded (config.json), when it has none and the budget is the same."""
    if (recorded is None or config.max_minutes is None or config.planned_steps is not None
            or recorded.get("max_minutes") != config.max_minutes or recorded.get("planned_steps") is None):
        return config
    earlier = tuple((int(a), int(b), float(f)) for a, b, f in recorded.get("earlier_plans", ()))
    return dataclasses.replace(config, planned_steps=recorded["planned_steps"], planned_from=recorded["planned_from"],
                               plan_start_factor=float(recorded.get("plan_start_factor", 1.0)), earlier_plans=earlier)


class LearningRates:
    """The optimizers of a model and their rates as built, to scale by lr_factor before each step."""

    def __init__(self, trackables: dict[str, Any]) -> None:
        # read as built, before a restore brings back decayed values
        self.base = [(opt, _rate(opt)) for opt in trackables.values()
                     if isinstance(opt, keras.optimizers.Optimizer)]

    def scale(self, factor: float) -> None:
        """Set every optimizer's rate to its built value times factor."""
        for opt, rate in self.base:
            opt.learning_rate = rate * factor

    def current(self) -> list[float]:
        """Return the rates the optimizers hold now, in order."""
        return [_rate(opt) for opt, _ in self.base]


def _rate(optimizer: keras.optimizers.Optimizer) -> float:
    """Return an optimizer's learning rate as a float (a mirrored variable's too, which float() refuses)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def run_config(spec: ModelSpec, config: Any, checkpoint_dir: Path, init_from: str | None = None) -> Any:
    """Return the config this start of the run trains with: the profile applied and the plan kept as its
    config.json recorded them (a resumed run picks what its first start picked, whatever devices it sees);
    so is an "auto" precision.

    A new run started from another run's checkpoint (init_from) takes that run's profile choices, so its
    nets fit the checkpoint, but makes its own plan.
    """
    own = read_config(checkpoint_dir)
    source = read_config(Path(init_from).parent) if own is None and init_from else None
    recorded = own if own is not None else source
    if spec.resolve is not None:
        config = spec.resolve(config, has_gpu(), recorded)
    config = resolve_precision(config, has_gpu(), recorded)  # "auto" -> this device's pick, or the record's
    return recorded_plan(config, own).validate()


def recorded_choices(config: Any) -> dict[str, Any]:
    """What the run chose for itself, for the job's metrics: the profile and precision picked, the steps planned."""
    found: dict[str, Any] = {}
    if getattr(config, "profile", None) is not None:
        found["profile"] = config.profile
    found["precision"] = config.precision
    if config.planned_steps is not None:
        found["planned_steps"] = config.planned_steps
    return found
