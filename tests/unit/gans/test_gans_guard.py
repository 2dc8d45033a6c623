"""The divergence guard names what it saw: NaN losses, a discriminator stuck at 0, mode collapse."""

import math

import numpy as np

from gans.guard import STUCK_STEPS, DivergenceGuard, sample_diversity


def test_non_finite_losses_are_reported_by_name() -> None:
    guard = DivergenceGuard()
    assert guard.check_losses(1, {"g_loss": 1.0, "d_loss": 0.7}) is None
    problem = guard.check_losses(2, {"g_loss": math.nan, "d_loss": math.inf})
    assert problem is not None and "non-finite d_loss, g_loss at step 2" in problem


def test_a_discriminator_stuck_near_zero_is_reported_once_it_persists() -> None:
    guard = DivergenceGuard()
    results = [guard.check_losses(s, {"g_loss": 9.0, "d_loss": 1e-5}) for s in range(1, STUCK_STEPS + 1)]
    assert results[:-1] == [None] * (STUCK_STEPS - 1)
    assert results[-1] is not None and "discriminator loss below" in results[-1]
    guard.check_losses(99, {"g_loss": 1.0, "d_loss": 0.5})  # recovery resets the count
    assert guard.stuck_steps == 0


def test_collapse_is_losing_a_variety_once_had() -> None:
    rng = np.random.default_rng(0)
    varied = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    same = np.repeat(varied[:1], 8, axis=0)
    guard = DivergenceGuard()
    assert guard.check_samples(1, same) is None  # a fresh generator's look-alike samples are not collapse
    assert guard.check_samples(2, varied) is None
    problem = guard.check_samples(3, same)
    assert problem is not None and problem.startswith("mode collapse at step 3")
    assert sample_diversity(same) == 0.0 and sample_diversity(varied) > 0.2
