"""Training speed of the dcgan cpu profile against the classic recipe, side by side in one run.

    python bench/dcgan_width.py [--data DIR] [--steps 24] [--rounds 3] [--warmup 3]

Both models train on the same cat faces with the same batch size; the timed steps are split
into rounds that alternate between the two models, so drift in the machine's speed (other
processes, thermal) hits both alike. Each step is synchronised (its losses read back) before
the clock stops, as the real training loop does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import tensorflow as tf  # noqa: E402

from gans.configs.dcgan import DCGANConfig, resolve_profile  # noqa: E402
from gans.data import image_folder_dataset  # noqa: E402
from gans.dcgan import build as build_dcgan  # noqa: E402

CONFIGS = {  # the profiles as a job gets them (the cpu one with its DiffAugment and EMA update)
    "cpu profile (g256 d32 k4)": resolve_profile(DCGANConfig(image_size=64, profile="cpu"), has_gpu=False),
    "classic (g1024 d64 k5)": resolve_profile(DCGANConfig(image_size=64, profile="classic"), has_gpu=False),
}


class Contender:
    """One model with its compiled step and an endless stream of batches."""

    def __init__(self, config: DCGANConfig, data: Path):
        self.config = config
        self.model = build_dcgan(config)
        self.step = tf.function(self.model.train_step, jit_compile=config.jit_compile)
        dataset = image_folder_dataset(data, config.image_size, config.batch_size, config.seed,
                                       epoch=0)
        self.batches = iter(dataset.repeat())
        self.seconds = 0.0
        self.steps = 0

    def run(self, steps: int, timed: bool = True) -> None:
        """Train steps steps, adding their wall time to the total when timed."""
        for _ in range(steps):
            batch = next(self.batches)  # data time excluded: the pipeline prefetches in training
            start = time.perf_counter()
            losses = self.step(batch)
            float(losses["g_loss"])  # wait for the step to finish
            if timed:
                self.seconds += time.perf_counter() - start
                self.steps += 1

    def report(self) -> str:
        """Return one line: parameters, seconds per step and images per second."""
        params = self.model.generator.count_params() + self.model.discriminator.count_params()
        per_step = self.seconds / self.steps
        return (f"{params / 1e6:6.2f}M params  {per_step:7.3f} s/step  "
                f"{self.config.batch_size / per_step:8.1f} images/s")


def main() -> None:
    """Warm both models up, time them in alternating rounds, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/cat-faces-64"))
    parser.add_argument("--steps", type=int, default=24, help="timed steps per model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (tracing) first")
    args = parser.parse_args()
    contenders = {name: Contender(config, args.data) for name, config in CONFIGS.items()}
    for contender in contenders.values():
        contender.run(args.warmup, timed=False)
    for _ in range(args.rounds):
        for contender in contenders.values():
            contender.run(args.steps // args.rounds)
    timed = args.steps // args.rounds * args.rounds
    print(f"DCGAN 64 px, batch 64, {timed} timed steps each after {args.warmup} warm-up steps")
    for name, contender in contenders.items():
        print(f"  {name:22s} {contender.report()}")
    cpu, classic = contenders.values()
    print(f"  the cpu profile is {classic.seconds / classic.steps / (cpu.seconds / cpu.steps):.1f}x "
          "faster per step")


if __name__ == "__main__":
    main()
