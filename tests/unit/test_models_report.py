"""scripts/models_report.py rewrites only its marked blocks of MODELS.md: hand-written sections survive (no training)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_report() -> ModuleType:
    """The script as a module (scripts/ is not a package); importing it trains nothing and needs no TensorFlow."""
    spec = importlib.util.spec_from_file_location("models_report", ROOT / "scripts" / "models_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = _load_report()


def _figures(name: str, steps: int) -> dict:
    return {"run": name, "model": "dcgan", "data": "cat-faces-64", "params": {"profile": "auto"},
            "budget_minutes": 10.0, "budget_param": "max_minutes", "profile": "cpu", "planned_steps": steps,
            "steps": steps, "wall_seconds": 612.0, "images_per_second": 120.5, "swd": 55.0, "swd_floor": 22.0,
            "swd_ratio": 2.5, "load_mean": 3.2, "load_max": 4.5, "sheet": f"docs/models/{name}.png",
            "date": "2026-01-01"}


def test_replace_block_keeps_the_text_outside_the_markers() -> None:
    text = ("# Models\n\nhand intro\n\n<!-- models_report:begin dcgan -->\nold figures\n"
            "<!-- models_report:end dcgan -->\n\n### dcgan profiles\n\nhand-written, kept.\n")
    out = report.replace_block(text, "dcgan", "new figures")
    assert out == text.replace("old figures", "new figures")


def test_regenerating_twice_changes_only_the_blocks() -> None:
    text = ("intro\n<!-- models_report:begin summary -->\n<!-- models_report:end summary -->\n"
            "## dcgan\n<!-- models_report:begin dcgan -->\n<!-- models_report:end dcgan -->\n"
            "The sheet shows cat-like faces (hand-written).\n")
    first = report.regenerate(text, {"dcgan": _figures("dcgan", 100)}, ["dcgan"])
    second = report.regenerate(first, {"dcgan": _figures("dcgan", 2000)}, ["dcgan"])
    assert "| 100 of 100 planned |" in first and "| 2000 of 2000 planned |" in second
    assert "| 100 " not in second
    assert second.startswith("intro\n") and second.endswith("The sheet shows cat-like faces (hand-written).\n")
    assert second.count("<!-- models_report:begin dcgan -->") == 1


def test_a_run_without_a_block_is_appended_under_its_heading() -> None:
    out = report.replace_block("# Models\n\nkept\n", "pix2pix-grayscale", "figures")
    assert out == ("# Models\n\nkept\n\n## pix2pix-grayscale\n\n<!-- models_report:begin pix2pix-grayscale -->\n"
                   "figures\n<!-- models_report:end pix2pix-grayscale -->\n")


def test_a_begin_marker_without_its_end_is_refused() -> None:
    with pytest.raises(ValueError, match="models_report:end dcgan"):
        report.replace_block("<!-- models_report:begin dcgan -->\nhalf-edited\n", "dcgan", "figures")


def test_models_md_keeps_its_hand_written_sections_when_every_run_is_regenerated() -> None:
    text = (ROOT / "MODELS.md").read_text()
    figures = {name: _figures(name, 10) for name in report.RUNS}
    out = report.regenerate(text, figures, list(report.RUNS))
    for kept in ("### dcgan profiles", "### dcgan losses and regularisers", "## Latent walks",
                 "docs/models/sketches.png"):
        assert kept in out
    for name in report.RUNS:  # every run already has its block: nothing appended
        assert out.count(f"<!-- models_report:begin {name} -->") == 1
        assert out.count(f"## {name}\n") == 1


def test_budget_overrides_are_checked() -> None:
    assert report.parse_budgets(["dcgan=2.5"])["dcgan"] == 2.5
    assert report.parse_budgets([])["cgan"] == report.BUDGETS["cgan"]
    with pytest.raises(SystemExit, match="unknown run 'gan'"):
        report.parse_budgets(["gan=3"])
    with pytest.raises(SystemExit, match="as a number"):
        report.parse_budgets(["dcgan=ten"])
