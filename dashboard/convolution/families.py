"""Figures of the groups-and-causal page: which input channels each output channel reads under
groups, and a stack of dilated causal layers with the cells one output depends on.

Plain functions that return plotly figures, so tests inspect them without a browser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.convolution.causal import CausalStack
from core.i18n import _, ltr
from dashboard.convolution.views import cell_numbers, cells_path

GROUP_COLOURS = qualitative.Set2
CONE = "#ea580c"
LINK = "rgba(234,88,12,0.55)"
VALUE_CELL = "#dbeafe"  # a value cell outside the cone
PAD_CELL = "#e2e8f0"
# The cone's second cue, besides its orange (WCAG 1.4.1): a dotted outline round each cell.
CONE_OUTLINE = dict(color="#1e293b", width=2, dash="dot")


def groups_figure(in_channels: int, out_channels: int, groups: int) -> go.Figure:
    """A C_out × C_in grid: a coloured cell where output channel o has a kernel for input
    channel c (one colour per group), white where groups cut the connection."""
    per_in, per_out = in_channels // groups, out_channels // groups
    rows, cols = np.mgrid[0:out_channels, 0:in_channels]
    group = np.where(rows // per_out == cols // per_in, rows // per_out, -1)
    # Discrete colours: white for "no kernel", then one colour per group.
    colourscale = []
    edges = np.linspace(0, 1, groups + 2)
    colours = ["#ffffff"] + [GROUP_COLOURS[g % len(GROUP_COLOURS)] for g in range(groups)]
    for index, colour in enumerate(colours):
        colourscale += [[edges[index], colour], [edges[index + 1], colour]]
    text = np.where(group >= 0, np.char.add("g", group.astype(str)), "")
    # Square cells in a column about 320 px wide: small enough for 32 channels, and the group
    # labels only where they fit.
    cell = min(30, 320 / max(in_channels, out_channels))
    if cell < 22:
        text = np.full(group.shape, "")
    figure = go.Figure(
        go.Heatmap(
            z=group,
            zmin=-1.5,
            zmax=groups - 0.5,
            colorscale=colourscale,
            showscale=False,
            text=text,
            xgap=2,
            ygap=2,
            hovertemplate=_("output channel %{y} · input channel %{x}: %{text}")
            + "<extra></extra>",
        )
    )
    if cell >= 22:  # the labels, each in white or black on its cell (trace 1)
        # The same colours at the cells' values, as a scale plotly can sample: colour i at i.
        evenly = [[index / groups, colour] for index, colour in enumerate(colours)]
        figure.add_trace(
            cell_numbers(
                text.tolist(),
                group + 1.0,
                evenly,
                zrange=(0, groups),
                x=np.arange(in_channels),
                y=np.arange(out_channels),
            )
        )
    figure.update_layout(
        height=round(max(160, out_channels * cell + 90)),
        margin=dict(l=10, r=10, t=40, b=40),
        plot_bgcolor="white",
        title=dict(
            text=(
                _("kernels present: {groups} groups")
                if groups > 1
                else _("kernels present: {groups} group")
            ).format(groups=groups),
            x=0,
        ),
        xaxis=dict(title=_("input channel"), dtick=1, side="bottom", constrain="domain"),
        yaxis=dict(
            title=_("output channel"),
            dtick=1,
            autorange="reversed",
            scaleanchor="x",
            constrain="domain",
        ),
    )
    return figure


def causal_stack_figure(stack: CausalStack, position: int) -> go.Figure:
    """Levels bottom (input) to top (last layer), time left to right, the left padding in grey
    on every level; the cells that top output `position` depends on are orange with a dotted
    outline (one path shape), joined to the taps that read them. The top level's cells are
    clickable (trace 2); the cells' numbers, when they fit, are the last trace."""
    levels = len(stack.values)
    length = len(stack.values[0])
    pad = stack.receptive_fields[-1] - 1  # enough grey zeros on the left for the widest cone
    cone = stack.dependencies(position)
    in_cone = np.zeros((levels, pad + length), dtype=bool)
    for level, cells in enumerate(cone):
        for t, _real in cells:
            if t + pad >= 0:
                in_cone[level, t + pad] = True
    values = np.full((levels, pad + length), np.nan)
    for level, row in enumerate(stack.values):
        values[level, pad:] = row
    x = np.arange(-pad, length)
    y_labels = _level_names(stack)
    text = [[("" if np.isnan(v) else f"{v:.1f}") for v in row] for row in values]
    cone_z = np.where(np.isnan(values), np.nan, np.where(in_cone, 1.0, 0.0))
    colourscale = [[0, VALUE_CELL], [1, CONE]]
    data = [
        go.Heatmap(  # trace 0: padding, grey
            z=np.where(np.isnan(values), 0.0, np.nan),
            x=x,
            y=list(range(levels)),
            colorscale=[[0, PAD_CELL], [1, PAD_CELL]],
            showscale=False,
            hoverinfo="skip",
            xgap=2,
            ygap=6,
        ),
        go.Heatmap(  # trace 1: the values, the cone in orange
            z=cone_z,
            x=x,
            y=list(range(levels)),
            colorscale=colourscale,
            zmin=0,
            zmax=1,
            showscale=False,
            text=text,
            customdata=np.nan_to_num(values),
            hovertemplate="t = %{x}: %{customdata:.3f}<extra></extra>",
            xgap=2,
            ygap=6,
        ),
        go.Scatter(  # trace 2: clickable top-level cells
            x=np.arange(length),
            y=[levels - 1] * length,
            mode="markers",
            marker=dict(symbol="square", size=18, color="rgba(0,0,0,0.01)"),
            showlegend=False,
            hovertemplate=_("output t = %{x}: click to trace it") + "<extra></extra>",
        ),
    ]
    # The links: each cone cell at level l+1 to the taps it reads at level l.
    xs, ys = [], []
    for level in range(1, levels):
        d = stack.dilations[level - 1]
        for t, real in cone[level]:
            if not real:
                continue
            for m in range(stack.kernel):
                xs += [t, t - m * d, None]
                ys += [level - 0.3, level - 1 + 0.3, None]
    data.append(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line=dict(color=LINK, width=2),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    if pad + length <= 24:  # the numbers are readable only then
        data.append(
            cell_numbers(
                text, cone_z, colourscale, empty=PAD_CELL, zrange=(0, 1), x=x, y=np.arange(levels)
            )
        )
    orange = [(level, int(x[col])) for level, col in zip(*np.nonzero(cone_z == 1), strict=True)]
    figure = go.Figure(data)
    figure.add_shape(
        type="path", path=cells_path(orange), xref="x", yref="y", line=CONE_OUTLINE, layer="above"
    )
    figure.update_layout(
        height=90 + 62 * levels,
        margin=dict(l=10, r=10, t=30, b=40),
        plot_bgcolor="white",
        xaxis=dict(
            title=_("time step t (grey: the causal padding, zeros)"),
            showgrid=False,
            zeroline=False,
            dtick=4 if pad + length > 24 else 1,
        ),
        yaxis=dict(
            tickvals=list(range(levels)),
            ticktext=y_labels,
            showgrid=False,
            zeroline=False,
            range=[-0.6, levels - 0.4],
        ),
        title=dict(
            text=_(
                "output t = {position} depends on the orange cells with a dotted outline"
            ).format(position=position),
            x=0,
            font=dict(size=14),
        ),
    )
    return figure


# Text equivalents of the figures (dashboard/described.py).


def _span(first: int, last: int) -> str:
    return str(first) if first == last else _("{first} to {last}").format(first=first, last=last)


def groups_text(in_channels: int, out_channels: int, groups: int) -> tuple[str, pd.DataFrame]:
    """The groups figure in words (the grid's size, the kernels present, group 0's channels)
    and, as a table, each group's output and input channels."""
    per_in, per_out = in_channels // groups, out_channels // groups
    shape = ltr(f"{out_channels}×{in_channels}")
    kernels = out_channels * per_in
    if groups == 1:
        summary = _(
            "Output channels × input channels: {shape}, one group: every output channel has a"
            " kernel for every input channel, {kernels} kernels in all."
        ).format(shape=shape, kernels=kernels)
    else:
        summary = _(
            "Output channels × input channels: {shape}, in {groups} groups: each output channel"
            " has kernels only for the {per_in} of {in_channels} input channels of its group,"
            " {kernels} of {total} kernels present. Group 0: output channels {outputs}, input"
            " channels {inputs}; the other cells are empty."
        ).format(
            shape=shape,
            groups=groups,
            per_in=per_in,
            in_channels=in_channels,
            kernels=kernels,
            total=out_channels * in_channels,
            outputs=_span(0, per_out - 1),
            inputs=_span(0, per_in - 1),
        )
    table = pd.DataFrame(
        {
            _("group"): list(range(groups)),
            _("output channels"): [
                _span(g * per_out, (g + 1) * per_out - 1) for g in range(groups)
            ],
            _("input channels"): [_span(g * per_in, (g + 1) * per_in - 1) for g in range(groups)],
            _("kernels"): [per_out * per_in] * groups,
        }
    )
    return summary, table


def _level_names(stack: CausalStack) -> list[str]:
    return [_("input")] + [
        _("layer {number} (d={dilation})").format(number=n + 1, dilation=d)
        for n, d in enumerate(stack.dilations)
    ]


def causal_stack_text(stack: CausalStack, position: int) -> tuple[str, pd.DataFrame]:
    """The causal stack in words (top output `position`'s value and, level by level, how many
    cells it depends on and where) and, as a table, every level's values by time step with the
    levels at which `position` depends on each."""
    names = _level_names(stack)
    cone = stack.dependencies(position)
    parts = []
    for name, cells in zip(names, cone, strict=True):
        real = [t for t, is_real in cells if is_real]
        parts.append(
            _("{level}: {count} (t = {first} to {last})").format(
                level=name, count=len(real), first=real[0], last=real[-1]
            )
            if len(real) > 1
            else _("{level}: 1 (t = {first})").format(level=name, first=real[0])
        )
    summary = _(
        "Output t = {position} of the top layer is {value:.2f}. The cells it depends on, per level"
        " (orange, with a dotted outline): {levels}."
    ).format(position=position, value=float(stack.values[-1][position]), levels="; ".join(parts))
    zeros = sum(1 for cells in cone for _t, is_real in cells if not is_real)
    if zeros:
        summary += " " + _("Padding zeros (t < 0) it depends on too: {count}.").format(count=zeros)
    length = len(stack.values[0])
    depends = [{t for t, is_real in cells if is_real} for cells in cone]
    table = pd.DataFrame(
        {_("time step t"): list(range(length))}
        | {name: [f"{v:.2f}" for v in row] for name, row in zip(names, stack.values, strict=True)}
        | {
            _("output t = {position} depends on it at").format(position=position): [
                ", ".join(name for name, cells in zip(names, depends, strict=True) if t in cells)
                for t in range(length)
            ]
        }
    )
    return summary, table
