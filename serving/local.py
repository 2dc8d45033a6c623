"""The `local` generation backend: SavedModels loaded in the worker process, cached per version."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

GeneratorFn = Callable[[np.ndarray], np.ndarray]


@lru_cache(maxsize=4)
def load_local_generator(export_dir: str) -> GeneratorFn:
    """z (N, z_dim) float32 → uint8 images (N, H, W, 3), from the SavedModel at `export_dir`."""
    from gans.export import load_generator  # TensorFlow is imported only in the worker's task process

    return load_generator(Path(export_dir))
