"""bench.encoders on a few real cat faces: every PNG contender is lossless, Pillow's JPEG is its own reference, the
JSON lands as encoders-<time>.json (which bench.report's newest_result leaves alone) and renders into its own
marked table of BENCHMARKS.md; nothing here looks at how fast anything was."""

from __future__ import annotations

import json
from pathlib import Path

from bench import encoders
from bench.report import newest_result


def test_a_small_run_checks_pixels_and_regenerates_its_table(tmp_path: Path, cat_faces: Path) -> None:
    out = tmp_path / "results"
    assert encoders.main(["--data", str(cat_faces), "--count", "3", "--rounds", "2", "--sizes", "32,64",
                          "--out", str(out)]) == 0
    [path] = out.glob("encoders-*.json")
    result = json.loads(path.read_text())["encoders"]
    assert list(result["sizes"]) == ["32", "64"] and result["count"] == 3
    for formats in result["sizes"].values():
        png, jpeg = formats["png"]["encoders"], formats["jpeg"]["encoders"]
        assert {"pillow", "worker"} <= set(png) and {"pillow", "worker"} <= set(jpeg)
        assert all(row["pixels"]["identical"] for row in png.values()), png  # lossless, every one
        assert jpeg["pillow"]["pixels"]["identical_bytes"] == 3 and jpeg["worker"]["pixels"]["identical"]
        assert png["pillow"]["speed_vs_pillow"]["samples"] == [1.0, 1.0]
        assert all(row["speed_vs_pillow"]["n"] == 2 for row in (*png.values(), *jpeg.values()))

    (out / "20990101T000000Z.json").write_text(json.dumps({"run": {"command": "python -m bench"}}))
    (out / "20990102T000000Z.json").write_text(json.dumps({"run": {"command": "python -m bench --figures api"}}))
    # the suite's report skips encoder runs, and runs of some figures only (rendered with --figure)
    assert newest_result(out).name == "20990101T000000Z.json"

    benchmarks = tmp_path / "BENCHMARKS.md"
    benchmarks.write_text(f"# Benchmarks\n\nprose\n\n{encoders.BEGIN}\nold\n{encoders.END}\n\nmore prose\n")
    assert encoders.main(["--report", str(path), "--benchmarks", str(benchmarks)]) == 0
    text = benchmarks.read_text()
    assert text.startswith("# Benchmarks\n\nprose\n\n") and text.endswith(f"{encoders.END}\n\nmore prose\n")
    assert "old" not in text and "| 64 | png | worker |" in text and "lossless" in text
