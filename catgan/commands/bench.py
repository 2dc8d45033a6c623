"""`catgan bench`: run the benchmark suite (`python -m bench`) of this source checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

CHECKOUT = Path(__file__).resolve().parents[2]


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Run the benchmark suite: `catgan bench --tiny`, `catgan bench --help` (the options of python -m bench)."""
    if not (CHECKOUT / "bench" / "__main__.py").is_file():
        raise click.ClickException("the benchmark suite ships with the source checkout, not the installed package: "
                                   "run `catgan bench` from a clone of the repository")
    sys.exit(subprocess.call([sys.executable, "-m", "bench", *args], cwd=CHECKOUT))
