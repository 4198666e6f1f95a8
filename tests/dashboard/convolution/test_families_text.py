"""The groups and causal figures' text equivalents, the contrast of the numbers in their cells and
the causal cone's second cue besides its colour (issue 25)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.convolution.causal import causal_stack
from dashboard.charts import contrast_ratio
from dashboard.convolution.families import (
    CONE,
    GROUP_COLOURS,
    VALUE_CELL,
    causal_stack_figure,
    causal_stack_text,
    groups_figure,
    groups_text,
)


def small_stack():
    """Length 10, k = 2, dilations 1, 2, 4: output 9 reads inputs 2..9 (receptive field 8)."""
    return causal_stack(np.arange(10.0), [np.ones(2) / 2] * 3, [1, 2, 4])


def test_groups_text_counts_kernels_and_lists_each_group() -> None:
    summary, table = groups_text(8, 16, 2)
    assert "16×8" in summary and "in 2 groups" in summary
    assert "the 4 of 8 input channels" in summary and "64 of 128 kernels present" in summary
    assert "output channels 0 to 7, input channels 0 to 3" in summary
    assert list(table["group"]) == [0, 1]
    assert list(table["output channels"]) == ["0 to 7", "8 to 15"]
    assert list(table["input channels"]) == ["0 to 3", "4 to 7"]
    assert list(table["kernels"]) == [32, 32]
    standard, one = groups_text(8, 16, 1)
    assert "one group" in standard and "128 kernels in all" in standard
    assert list(one["output channels"]) == ["0 to 15"] and list(one["kernels"]) == [128]
    depthwise, table = groups_text(3, 3, 3)
    assert "3 of 9 kernels present" in depthwise
    assert list(table["input channels"]) == ["0", "1", "2"]


def test_causal_text_gives_each_levels_dependencies_and_the_values() -> None:
    stack = small_stack()
    summary, table = causal_stack_text(stack, 9)
    top = float(stack.values[-1][9])
    assert f"Output t = 9 of the top layer is {top:.2f}" in summary
    assert "input: 8 (t = 2 to 9)" in summary
    assert "layer 1 (d=1): 4 (t = 3 to 9)" in summary
    assert "layer 2 (d=2): 2 (t = 5 to 9)" in summary
    assert "layer 3 (d=4): 1 (t = 9)" in summary
    assert "dotted outline" in summary and "Padding zeros" not in summary
    assert list(table["time step t"]) == list(range(10))
    assert list(table["input"]) == [f"{v:.2f}" for v in range(10)]
    assert table["layer 3 (d=4)"][9] == f"{top:.2f}"
    reads = table["output t = 9 depends on it at"]
    assert reads[9] == "input, layer 1 (d=1), layer 2 (d=2), layer 3 (d=4)"
    assert reads[2] == reads[4] == "input" and reads[1] == ""
    assert reads[3] == "input, layer 1 (d=1)" and reads[5] == "input, layer 1 (d=1), layer 2 (d=2)"
    early, _table = causal_stack_text(stack, 1)
    assert "input: 2 (t = 0 to 1)" in early
    # Output 1 reads cells 1, -1 (a padding zero) at layer 2, then -1, -3 at layer 1 ... :
    # the zeros left of t = 0 are counted, once per level.
    zeros = sum(1 for cells in stack.dependencies(1) for _t, real in cells if not real)
    assert zeros > 0 and f"Padding zeros (t < 0) it depends on too: {zeros}." in early


def cell_numbers(figure, heatmap: int, numbers: int) -> list[tuple[float, str, str]]:
    """(the cell's z, its number, the number's colour) for every written number, found at the
    heatmap's cell under the text trace's point."""
    cells = figure.data[heatmap]
    xs = list(range(np.shape(cells.z)[1])) if cells.x is None else list(cells.x)
    ys = list(range(np.shape(cells.z)[0])) if cells.y is None else list(cells.y)
    text = figure.data[numbers]
    assert text.mode == "text" and text.hoverinfo == "skip"
    found = []
    for x, y, label, colour in zip(text.x, text.y, text.text, text.textfont.color, strict=True):
        row, col = ys.index(y), xs.index(x)
        assert label == cells.text[row][col]  # the hover text and the written number agree
        if label:
            found.append((float(np.asarray(cells.z)[row][col]), label, colour))
    return found


@pytest.mark.parametrize(("c_in", "c_out", "groups"), [(4, 6, 2), (8, 8, 8), (6, 6, 1), (8, 8, 4)])
def test_group_labels_contrast_with_their_cells(c_in: int, c_out: int, groups: int) -> None:
    figure = groups_figure(c_in, c_out, groups)
    assert figure.data[0].texttemplate is None  # no plotly "auto" text colour left
    found = cell_numbers(figure, 0, 1)
    assert len(found) == c_out * c_in // groups  # one label per kernel present
    for group, label, colour in found:
        assert colour in ("white", "black") and label == f"g{int(group)}"
        background = GROUP_COLOURS[int(group) % len(GROUP_COLOURS)]
        assert contrast_ratio(colour, background) >= 4.5, (label, colour, background)


def test_group_labels_left_out_when_cells_are_small() -> None:
    figure = groups_figure(16, 32, 2)
    assert len(figure.data) == 1 and figure.data[0].texttemplate is None


@pytest.mark.parametrize("position", [9, 0, 4])
def test_causal_numbers_contrast_with_their_cells(position: int) -> None:
    figure = causal_stack_figure(small_stack(), position)
    assert figure.data[1].texttemplate is None
    found = cell_numbers(figure, 1, -1)
    assert len(found) == 4 * 10  # every value cell of the 4 levels, none on the padding
    assert {z for z, *_rest in found} == {0.0, 1.0}  # cells in and out of the cone
    for in_cone, label, colour in found:
        background = CONE if in_cone else VALUE_CELL
        assert colour in ("white", "black")
        assert contrast_ratio(colour, background) >= 4.5, (label, colour, background)


def test_causal_numbers_left_out_when_the_sequence_is_long() -> None:
    stack = causal_stack(np.arange(24.0), [np.ones(2) / 2] * 2, [1, 2])
    figure = causal_stack_figure(stack, 23)
    assert all(trace.mode != "text" for trace in figure.data if trace.type == "scatter")
    assert figure.data[2].y[0] == 2  # the clickable cells are still trace 2


def outlined(figure) -> set[tuple[int, int]]:
    """The (level, t) cells the figure's dotted path outlines."""
    (shape,) = [s for s in figure.layout.shapes if s.type == "path"]
    assert shape.line.dash == "dot" and shape.line.width >= 2
    corners = re.findall(r"M(-?[\d.]+),(-?[\d.]+)H", shape.path)
    return {(round(float(y) + 0.5), round(float(x) + 0.5)) for x, y in corners}


@pytest.mark.parametrize("position", [9, 1])
def test_the_cone_has_a_dotted_outline_besides_its_orange(position: int) -> None:
    stack = small_stack()
    figure = causal_stack_figure(stack, position)
    z = np.asarray(figure.data[1].z, dtype=float)
    xs = list(figure.data[1].x)
    orange = {(level, int(xs[col])) for level, col in zip(*np.nonzero(z == 1), strict=True)}
    real = {
        (level, t)
        for level, cells in enumerate(stack.dependencies(position))
        for t, is_real in cells
        if is_real
    }
    assert outlined(figure) == orange == real
    assert "dotted outline" in figure.layout.title.text
