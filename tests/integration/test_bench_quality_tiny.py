"""`python -m bench.quality --tiny` trains both runs end to end (the tutorial loop in a TensorFlow child, a job through
a real API and worker), judges each against the held-out faces, and its JSON renders into BENCHMARKS.md's quality
section; nothing here looks at how good or fast anything was."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bench.quality_report import QUALITY_BEGIN, QUALITY_END
from bench.report import BEGIN
from gans.holdout import holdout_size, list_image_files

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_tiny_quality_run_scores_both_runs_on_the_held_out_faces(tmp_path: Path, cat_faces: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATGAN_")}
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "bench.quality", "--tiny", "--out", str(out), "--sheets",
                           str(tmp_path / "sheets"), "--data", str(cat_faces)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-6000:] + done.stdout[-2000:]
    [path] = out.glob("quality-*.json")
    result = json.loads(path.read_text())
    assert result["run"]["tiny"] is True
    runs = result["quality"]
    assert set(runs) == {"tutorial-32px-0.1min", "job-32px-0.1min"}
    held_out = holdout_size(len(list_image_files(cat_faces)))  # gans.holdout's rule: 10% of the folder, at most 1,000
    for name, record in runs.items():
        assert "error" not in record, (name, record)
        assert record["samples"] == 64 and record["steps"] >= 1
        assert record["held_out"] == held_out and record["reference"] == record["held_out"]
        assert math.isfinite(record["swd"]) and record["swd"] > record["swd_floor"] > 0
        assert record["swd_ratio"] == pytest.approx(record["swd"] / record["swd_floor"], rel=1e-2)
        with Image.open(record["sheet"]) as sheet:
            assert sheet.width >= 512 and sheet.width == sheet.height  # 8 x 8 tiles, enlarged for viewing
    assert runs["job-32px-0.1min"]["profile"] == "cpu"  # `auto` on a machine without a GPU
    assert runs["tutorial-32px-0.1min"]["config"]["g_filters"] == 1024  # the classic net

    benchmarks = tmp_path / "BENCHMARKS.md"
    original = (ROOT / "BENCHMARKS.md").read_text()
    benchmarks.write_text(original)
    subprocess.run([sys.executable, "-m", "bench.quality", "--report", "--tiny", "--out", str(out), "--benchmarks",
                    str(benchmarks)], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    text = benchmarks.read_text()
    generated = text.split(QUALITY_BEGIN)[1].split(QUALITY_END)[0]
    assert text.split(QUALITY_BEGIN)[0] == original.split(QUALITY_BEGIN)[0]  # prose and the bench tables kept
    assert text.split(QUALITY_END)[1] == original.split(QUALITY_END)[1] and BEGIN in text
    for name, record in runs.items():
        assert f"| {name} |" in generated and f"**{record['swd_ratio']:.3g}x**" in generated
