"""DCGAN's losses and regularisers at equal wall time: SWD against the held-out split, side by side in one run.

    python bench/losses.py [--data DIR] [--minutes 1] [--rounds 4] [--samples 256] [--json out.json]

Every variant is the cpu profile at 32 px (as a job gets it) with one option changed; "nonsaturating"
is today's default, run twice (seeds 0 and 1) so the table shows how far two runs of the same recipe
land apart: a variant helps measurably only if it beats both by more than they differ. The training
time is split into rounds that alternate between the variants, so the machine's drift (other processes)
hits all alike; each variant trains for the same wall time (steps, data and its own extra work such as
R1's double back-propagation included; the first step, which traces the graph, is not counted), to
within its last step: a round that ran long is made up for in the next. At the
end each variant's sampler (its EMA generator) makes `--samples` images from fixed latents, compared
with as many held-out faces by the sliced Wasserstein distance, beside the floor (training vs held-out
faces): swd_ratio = swd_mean / swd_floor, 1.0 being as close as real cats get. Constant learning rates
(no max_minutes plan), one seed per variant: a short run on a loaded machine, not a verdict.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import tensorflow as tf  # noqa: E402

from gans.common import quality_pair, trained_on_images  # noqa: E402
from gans.configs.dcgan import DCGANConfig, resolve_profile  # noqa: E402
from gans.dcgan import build as build_dcgan  # noqa: E402
from gans.dcgan import epoch_dataset  # noqa: E402
from gans.metrics.swd import swd_summary  # noqa: E402

IMAGE_SIZE = 32
R1_GAMMA = 0.1  # low resolution, small batch: StyleGAN2-ADA's heuristic gives far less, DCGAN-era papers 10
VARIANTS: dict[str, dict[str, Any]] = {
    "nonsaturating (default)": {},
    "nonsaturating, seed 1": {"seed": 1},
    "hinge": {"loss": "hinge"},
    "ralsgan": {"loss": "ralsgan"},
    f"r1_gamma {R1_GAMMA}": {"r1_gamma": R1_GAMMA},
    "spectral_norm": {"spectral_norm": True},
}


@dataclass
class Variant:
    """One model, its compiled step, an endless stream of its training batches and the time it trained."""

    name: str
    config: DCGANConfig
    model: Any = None
    step: Any = None
    batches: Any = None
    seconds: float = 0.0
    slowest: float = 0.0  # the longest step, to tell a stalled machine from a slow variant
    steps: int = 0
    losses: dict[str, float] = field(default_factory=dict)

    def start(self, data: Path) -> None:
        """Build the model, trace its step on the first batch (untimed, but a step all the same)."""
        self.model = build_dcgan(self.config)
        self.step = tf.function(self.model.train_step, jit_compile=self.config.jit_compile)
        epochs = (epoch_dataset(self.config, data, epoch) for epoch in itertools.count())
        self.batches = (batch for dataset in epochs for batch in dataset)
        self._train_one()

    def _train_one(self) -> None:
        """Train one step and wait for it (its losses read back), as the real loop does."""
        self.losses = {k: float(v) for k, v in self.step(next(self.batches)).items()}
        self.steps += 1

    def train_until(self, total_seconds: float) -> None:
        """Train whole steps until this variant has trained `total_seconds` in all (a long round is made up for)."""
        while self.seconds < total_seconds:
            start = time.perf_counter()
            self._train_one()
            took = time.perf_counter() - start
            self.seconds += took
            self.slowest = max(self.slowest, took)


def variant_config(options: dict[str, Any]) -> DCGANConfig:
    """Return the cpu profile at 32 px, as a job on this machine resolves it, with options changed."""
    return resolve_profile(DCGANConfig(image_size=IMAGE_SIZE, profile="cpu", **options), has_gpu=False)


def measure(variants: list[Variant], data: Path, samples: int) -> list[dict[str, Any]]:
    """Return one row per variant: steps, seconds, images/s, swd_mean, swd_floor and swd_ratio."""
    seed = 0  # the same real images and latents for every variant
    rows, floor = [], None
    for v in variants:
        real, generated = quality_pair(v.model.sampler, data, IMAGE_SIZE, 3, v.config.z_dim, samples, seed)
        if floor is None:
            floor = swd_summary(trained_on_images(data, IMAGE_SIZE, 3, len(real), seed), real, seed=seed)["swd_mean"]
        swd = swd_summary(real, generated, seed=seed)["swd_mean"]
        rows.append({"variant": v.name, "steps": v.steps, "seconds": round(v.seconds, 1),
                     "slowest_step": round(v.slowest, 2),
                     "images_per_second": round(v.config.batch_size * (v.steps - 1) / max(v.seconds, 1e-9), 1),
                     "swd_mean": round(swd, 4), "swd_floor": round(floor, 4), "swd_ratio": round(swd / floor, 3),
                     "last_losses": {k: round(x, 4) for k, x in v.losses.items()}})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Return the rows as a Markdown table."""
    lines = ["| variant | steps | images/s | swd_mean | swd_ratio |", "|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['steps']} | {r['images_per_second']} | {r['swd_mean']} | {r['swd_ratio']} |"
              for r in rows]
    return "\n".join(lines)


def main() -> None:
    """Start every variant, train them in alternating rounds for the same wall time, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/cat-faces-64"))
    parser.add_argument("--minutes", type=float, default=1.0, help="training wall time per variant")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=256, help="generated and held-out images for the SWD")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--json", type=Path, help="also write the rows and the setup here")
    args = parser.parse_args()
    chosen = {k: v for k, v in VARIANTS.items() if not args.only or k in args.only}
    variants = [Variant(name, variant_config(options)) for name, options in chosen.items()]
    for v in variants:
        v.start(args.data)
    for round_index in range(1, args.rounds + 1):
        for v in variants:
            v.train_until(args.minutes * 60 * round_index / args.rounds)
    rows = measure(variants, args.data, args.samples)
    print(f"dcgan cpu profile, {IMAGE_SIZE} px, {args.minutes} min of training per variant in {args.rounds} "
          f"alternating rounds; SWD of {args.samples} samples vs held-out faces")
    print(table(rows))
    if args.json:
        setup = {"minutes": args.minutes, "rounds": args.rounds, "samples": args.samples, "image_size": IMAGE_SIZE,
                 "data": str(args.data)}
        args.json.write_text(json.dumps({"setup": setup, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
