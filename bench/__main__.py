"""`python -m bench` (or `catgan bench`): every figure a ratio of two things measured side by side in one run.

    python -m bench [--figures service,reference,machine,generation,api,precision,step] [--rounds 3] [--tiny]
                    [--out DIR]

Starts a throwaway deployment (embedded Redis, SQLite, the API under gunicorn, a real worker) and one
TensorFlow child for the bare loops, runs each figure's contenders in alternating rounds, prints the ratios,
and writes the run's JSON (with the machine it ran on) to DIR (bench/results/). `python -m bench.report`
turns that JSON into BENCHMARKS.md's tables. --tiny: tiny sizes, one round, so CI keeps the suite working;
its figures mean nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.deploy import deployment, register_folder
from bench.figures import DATA, TINY, Context, Sizes
from bench.harness import Child, machine_info, write_result
from bench.report import RESULTS, render_text

FIGURES = ("service", "reference", "machine", "generation", "api", "precision", "step")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--figures", default=",".join(FIGURES),
                        help=f"comma-separated, of {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per figure (default 3; tiny 1)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and one round: checks the suite runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the run's JSON")
    parser.add_argument("--data", type=Path, default=DATA, help="the image folder the DCGAN figures train on")
    args = parser.parse_args(argv)
    args.figures = [f.strip() for f in args.figures.split(",") if f.strip()]
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; choose from {', '.join(FIGURES)}")
    if args.rounds is None:
        args.rounds = 1 if args.tiny else 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a folder of images")
    return args


def run_figures(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    """Start the deployment and the child, run each figure (a failure is recorded, the others still run)."""
    extra = {"progress_interval_seconds": "0.2"} if args.tiny else {}  # default schedule in a real run
    figures: dict[str, Any] = {}
    with deployment(extra) as deploy:
        child = Child(deploy.env, deploy.home / "child.log")
        try:
            ctx = Context(sizes, args.rounds, deploy, child, args.data)
            ctx.dataset = register_folder(deploy.client(), args.data)
            for name in args.figures:
                began = time.monotonic()
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
                try:
                    figure = importlib.import_module(f"bench.figures.{name}").run(ctx).to_dict()
                except Exception as exc:  # noqa: BLE001 - recorded in the JSON; the run exits non-zero
                    traceback.print_exc()
                    figure = {"title": name, "error": f"{type(exc).__name__}: {exc}"[:2000]}
                figures[name] = figure | {"seconds": round(time.monotonic() - began, 1)}
        finally:
            child.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    sizes = TINY if args.tiny else Sizes()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = machine_info()
    began = time.monotonic()
    figures = run_figures(args, sizes)
    result = {"run": {"started": started, "command": "python -m bench " + shlex.join(sys.argv[1:] if argv is None
                                                                                     else argv),
                      "tiny": args.tiny, "rounds": args.rounds, "seconds": round(time.monotonic() - began, 1),
                      "load_after": list(os.getloadavg()), "sizes": dataclasses.asdict(sizes)},
              "machine": machine, "figures": figures}
    path = write_result(args.out, result)
    print(render_text(result))
    print(f"\nwritten {path}; `python -m bench.report {path}` regenerates BENCHMARKS.md from it")
    return 1 if any("error" in f for f in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
