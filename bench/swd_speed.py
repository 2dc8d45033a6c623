"""Wall and CPU time of the sliced Wasserstein distance: 1,000 vs 1,000 images at 64x64.

    python bench/swd_speed.py [--data DIR] [--count 1000] [--rounds 3]

Real cat faces (the first 2*count of DIR) when present, else random images: the cost depends on
the sizes, not on the pixels. Reports each round's wall-clock and process CPU seconds, and the
machine's load average, since another job on the same cores stretches the wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from gans.metrics.swd import sliced_wasserstein_distance  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cat-faces-64"


def load_sets(data: Path, count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Return two (count, 64, 64, 3) uint8 sets and where they came from."""
    paths = sorted(data.glob("*.jpg"))[: 2 * count] if data.is_dir() else []
    if len(paths) == 2 * count:
        images = np.stack([np.asarray(Image.open(p).convert("RGB").resize((64, 64)))
                           for p in paths])
        return images[:count], images[count:], f"cat faces from {data}"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2 * count, 64, 64, 3), dtype=np.uint8)
    return images[:count], images[count:], "random images"


def main() -> None:
    """Time a few rounds and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    real, fake, source = load_sets(args.data, args.count)
    print(f"{args.count} vs {args.count} at 64x64 ({source}), {os.cpu_count()} CPUs")
    for round_ in range(args.rounds):
        load = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        distances = sliced_wasserstein_distance(real, fake, seed=round_)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        levels = ", ".join(f"{d:.2f}" for d in distances)
        print(f"round {round_}: {wall:5.2f} s wall, {cpu:5.2f} s CPU, load {load:4.2f}  "
              f"SWD x1e3 [{levels}]")


if __name__ == "__main__":
    main()
