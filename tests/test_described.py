"""Every figure of the app has its text equivalent (issue 25): no page or dashboard module
draws a plotly figure itself; they all go through dashboard.described.chart, which adds the
figure's summary (and, where given, its numbers as a table) right after it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAWER = ROOT / "dashboard" / "described.py"


def plotly_chart_calls() -> list[str]:
    found = []
    for path in sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/**/*.py")]):
        if path == DRAWER:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "plotly_chart"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_figure_is_drawn_with_its_text_equivalent() -> None:
    assert plotly_chart_calls() == []


def test_the_drawer_itself_is_seen_by_the_scan() -> None:
    # The scan finds what it looks for: the one call left is the drawer's own.
    tree = ast.parse(DRAWER.read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "plotly_chart"
    ]
    assert len(calls) == 1
