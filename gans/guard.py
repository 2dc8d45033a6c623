"""Divergence and collapse guard: notice NaN/inf losses, a discriminator stuck near 0, or mode collapse."""

from __future__ import annotations

import math

import numpy as np

from gans.errors import TrainingDiverged

__all__ = ["DivergenceGuard", "TrainingDiverged", "sample_diversity"]

STUCK_D_LOSS = 1e-3  # D this sure of itself gives G no gradient to learn from
STUCK_STEPS = 50  # ...for this many steps in a row
COLLAPSE_DISTANCE = 0.01  # mean pairwise |a - b| of the fixed-latent samples, on a 0..1 scale
DIVERSE = 0.04  # ...after having been at least this varied


class DivergenceGuard:
    """Watches losses every step and the fixed-latent samples at every sheet."""

    def __init__(self) -> None:
        self.stuck_steps = 0
        self.peak_diversity = 0.0  # samples of a fresh G all look alike; collapse is losing variety once had

    def check_losses(self, step: int, losses: dict[str, float]) -> str | None:
        """A description of what went wrong at `step`, or None."""
        bad = sorted(k for k, v in losses.items() if not math.isfinite(v))
        if bad:
            return (f"non-finite {', '.join(bad)} at step {step}: the run diverged; train again with lower lr_g "
                    "and lr_d (e.g. halved), as resuming unchanged would likely diverge the same way")
        d_loss = losses.get("d_loss")
        self.stuck_steps = self.stuck_steps + 1 if d_loss is not None and d_loss < STUCK_D_LOSS else 0
        if self.stuck_steps == STUCK_STEPS:
            return (f"discriminator loss below {STUCK_D_LOSS} for {STUCK_STEPS} steps up to step {step}: "
                    "D has won and G gets no gradient (try a lower lr_d or label smoothing)")
        return None

    def check_samples(self, step: int, images: np.ndarray) -> str | None:
        """Mode collapse: the fixed-latent samples (N, H, W, C) uint8 have become near-identical."""
        distance = sample_diversity(images)
        self.peak_diversity = max(self.peak_diversity, distance)
        if self.peak_diversity >= DIVERSE and distance < COLLAPSE_DISTANCE:
            return (f"mode collapse at step {step}: the fixed-latent samples are near-identical "
                    f"(mean pairwise difference {distance:.4f}); try diffaugment, a lower lr_g or another seed")
        return None


def sample_diversity(images: np.ndarray) -> float:
    """Mean pairwise |a - b| of images (N, H, W, C) uint8, on a 0..1 scale (0 = all identical)."""
    flat = images.reshape(len(images), -1).astype(np.float32)[:, :8192] / 255.0
    if len(flat) < 2:
        return 0.0
    total = float(np.abs(flat[:, None] - flat[None, :]).mean(-1).sum())
    return total / (len(flat) * (len(flat) - 1))  # the diagonal is zero: average over distinct pairs
