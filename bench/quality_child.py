"""The TensorFlow side of bench/quality.py: the tutorial's loop on the classic net, and the scorer.

    python -m bench.quality_child tutorial --data DIR --image-size 64 --minutes 30 --samples 1000 --out X.npy
    python -m bench.quality_child score --data DIR --image-size 64 --generated X.npy --sheet X.png

Each prints one line, REPLY + JSON. The orchestrator (bench/quality.py) never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import REPLY

SEED = 0
SHEET_PIXELS = 512  # a sheet of the first samples about this wide: 8 x 8 up to 64 px, 4 x 4 at 128


def tutorial(data: Path, image_size: int, minutes: float, samples: int, out: Path) -> dict[str, Any]:
    """Train the classic CatDCGAN net the TensorFlow tutorial's way for `minutes` of wall time; save samples.

    The training images (never the held-out split) are decoded once into memory, as the tutorial's
    `tf.data.Dataset.from_tensor_slices(train_images)` does; the first step (tracing) is not counted.
    """
    import tensorflow as tf

    from bench.loops import Tutorial
    from gans.common import decoded_sample, generated_images
    from gans.configs.dcgan import DCGANConfig, resolve_profile
    from gans.data import training_images

    config = resolve_profile(DCGANConfig(profile="classic", image_size=image_size, seed=SEED), has_gpu=False)
    paths = training_images(data)
    images = decoded_sample(paths, data, image_size, 3, len(paths), SEED).astype(np.float32) / 127.5 - 1.0
    loop = Tutorial(config, tf.constant(images))
    loop.run(1)  # traces the step
    steps, seconds = 0, 0.0
    while seconds < minutes * 60:
        seconds += loop.run(1)
        steps += 1
    np.save(out, generated_images(loop.generator, config.z_dim, samples, SEED))
    return {"steps": steps, "train_seconds": round(seconds, 1), "trained_images": len(images),
            "images_per_second": round(steps * config.batch_size / seconds, 2),
            "config": {"profile": "classic", "g_filters": config.g_filters, "d_filters": config.d_filters,
                       "kernel_size": config.kernel_size, "batch_size": config.batch_size, "lr_g": config.lr_g,
                       "lr_d": config.lr_d}}


def score(data: Path, image_size: int, generated: Path, sheet: Path) -> dict[str, Any]:
    """SWD of the samples vs the held-out images, and the floor: as many training images vs the same held-out."""
    from gans.common import real_images, trained_on_images
    from gans.data import held_out_images
    from gans.grid import encode_png, image_grid, upscale_for_viewing
    from gans.metrics.swd import swd_summary

    fake = np.load(generated)
    held = len(held_out_images(data))
    real = real_images(data, image_size, 3, max(held, 1), SEED)
    trained = trained_on_images(data, image_size, 3, len(fake), SEED)
    began = time.monotonic()
    swd, floor = swd_summary(real, fake)["swd_mean"], swd_summary(real, trained)["swd_mean"]
    columns = max(4, min(8, SHEET_PIXELS // image_size))
    sheet.write_bytes(encode_png(upscale_for_viewing(image_grid(fake[:columns * columns], columns))))
    return {"samples": len(fake), "held_out": held, "reference": len(real), "swd": round(swd, 3),
            "swd_floor": round(floor, 3), "swd_ratio": round(swd / floor, 3),
            "score_seconds": round(time.monotonic() - began, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality_child")
    commands = parser.add_subparsers(dest="command", required=True)
    loop = commands.add_parser("tutorial")
    loop.add_argument("--minutes", type=float, required=True)
    loop.add_argument("--samples", type=int, required=True)
    loop.add_argument("--out", type=Path, required=True)
    scorer = commands.add_parser("score")
    scorer.add_argument("--generated", type=Path, required=True)
    scorer.add_argument("--sheet", type=Path, required=True)
    for each in (loop, scorer):
        each.add_argument("--data", type=Path, required=True)
        each.add_argument("--image-size", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "tutorial":
        answer = tutorial(args.data, args.image_size, args.minutes, args.samples, args.out)
    else:
        answer = score(args.data, args.image_size, args.generated, args.sheet)
    sys.stdout.write(REPLY + json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
