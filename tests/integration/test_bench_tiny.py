"""`python -m bench --tiny` runs every figure end to end (real API, worker, TensorFlow children) and its JSON renders
into BENCHMARKS.md's generated section; nothing here looks at how fast anything was."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import FIGURES
from bench.report import BEGIN, END

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _stats(figure: dict) -> list[tuple[str, dict]]:
    return [(f"ratio {k}", v) for k, v in figure["ratios"].items()] + [(f"value {k}", v)
                                                                     for k, v in figure["values"].items()]


def test_tiny_run_measures_every_figure_and_regenerates_the_tables(tmp_path: Path, cat_faces: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--out", str(tmp_path / "results"), "--data",
                           str(cat_faces)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-6000:] + done.stdout[-2000:]
    [path] = (tmp_path / "results").glob("*.json")
    result = json.loads(path.read_text())

    assert list(result["figures"]) == list(FIGURES)
    assert result["machine"]["cpu"]["cores"] >= 1 and result["machine"]["tensorflow"]
    assert result["run"]["tiny"] is True and result["run"]["rounds"] == 1
    expected = {"service": {"steady", "whole"}, "reference": {"tutorial", "fit", "pix2pix_tutorial"},
                "machine": {"flops"},
                "generation": {"pipeline", "bare", "rss"}, "api": {"read_50", "read_500", "list_growth"},
                "precision": {"bf16", "xla"}, "step": {"reuse"}}
    for name, figure in result["figures"].items():
        assert "error" not in figure, figure
        assert expected[name] <= set(figure["ratios"]), (name, sorted(figure["ratios"]))
        for label, stat in _stats(figure):
            values = [stat["median"], stat["min"], stat["max"], *stat["samples"]]
            assert all(math.isfinite(v) and v > 0 for v in values), (name, label, stat)
            assert stat["n"] == len(stat["samples"]) >= 1

    benchmarks = tmp_path / "BENCHMARKS.md"
    original = (ROOT / "BENCHMARKS.md").read_text()
    benchmarks.write_text(original)
    subprocess.run([sys.executable, "-m", "bench.report", str(path), "--benchmarks", str(benchmarks)], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=60)
    text = benchmarks.read_text()
    head, generated = text.split(BEGIN)[0], text.split(BEGIN)[1].split(END)[0]
    assert head == original.split(BEGIN)[0] and text.split(END)[1] == original.split(END)[1]  # prose kept
    for figure in result["figures"].values():
        assert figure["title"] in generated
    assert generated.count("| ratio | median |") == len(FIGURES)
    assert result["machine"]["cpu"]["model"] in generated
