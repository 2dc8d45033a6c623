"""Latent vectors that depend only on (seed, image index): image i is the same in any batch."""

from __future__ import annotations

import numpy as np


def latent_batch(seed: int, start: int, count: int, z_dim: int) -> np.ndarray:
    """z for images start..start+count-1 of `seed`, shape (count, z_dim), float32."""
    # One independent stream per image (seed, index): no dependence on batch size or order.
    return np.stack([
        np.random.default_rng([seed, index]).standard_normal(z_dim, dtype=np.float32)
        for index in range(start, start + count)
    ])
