"""The bench's arithmetic and report: alternating rounds, spreads, percentiles, a marked section rewritten in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import Figure, interleave, percentile, spread
from bench.report import BEGIN, END, figure_markdown, rewrite, verdict


def test_rounds_alternate_their_order() -> None:
    calls: list[str] = []
    results = interleave(4, {"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0})
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert results == {"a": [1.0] * 4, "b": [2.0] * 4}


def test_spread_and_percentiles() -> None:
    stat = spread([3.0, 1.0, 2.0, 10.0])
    assert (stat["median"], stat["min"], stat["max"], stat["n"]) == (2.5, 1.0, 10.0, 4)
    assert stat["q1"] == 1.75 and stat["q3"] == 4.75
    assert spread([5.0])["q1"] == spread([5.0])["q3"] == 5.0
    assert percentile(list(range(101)), 99) == 99 and percentile([7.0], 99) == 7.0


def test_verdicts_say_by_how_much_a_goal_is_missed() -> None:
    figure = Figure("x", "X")
    figure.ratio("up", "more is better", [0.5], goal=0.8)
    figure.ratio("down", "less is better", [3.0], goal=1.0, higher_is_better=False)
    figure.ratio("free", "no goal", [1.0])
    assert verdict(figure.ratios["up"]) == "**no** (37.5% short)"
    assert verdict(figure.ratios["down"]) == "**no** (3x the goal)"
    assert verdict(figure.ratios["free"]) == ""
    assert "| more is better | **0.5** | 0.5 | 1 | ≥ 0.8 |" in "\n".join(figure_markdown("x", figure.to_dict()))


def test_only_the_marked_section_is_rewritten(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# prose\n\n{BEGIN}\nold table\n{END}\n\nmore prose\n")
    rewrite(page, "new table\n")
    assert page.read_text() == f"# prose\n\n{BEGIN}\nnew table\n{END}\n\nmore prose\n"
    page.write_text("no markers\n")
    with pytest.raises(ValueError, match="no generated section"):
        rewrite(page, "x\n")
