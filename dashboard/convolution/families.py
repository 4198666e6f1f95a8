"""Figures of the groups-and-causal page: which input channels each output channel reads under
groups, and a stack of dilated causal layers with the cells one output depends on.

Plain functions that return plotly figures, so tests inspect them without a browser.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.convolution.causal import CausalStack
from core.i18n import _

GROUP_COLOURS = qualitative.Set2
CONE = "#ea580c"
LINK = "rgba(234,88,12,0.55)"


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
            texttemplate="%{text}",
            xgap=2,
            ygap=2,
            hovertemplate=_("output channel %{y} · input channel %{x}: %{text}")
            + "<extra></extra>",
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
    on every level; the cells that top output `position` depends on are orange, joined to the
    taps that read them. The top level's cells are clickable (trace 2)."""
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
    y_labels = [_("input")] + [
        _("layer {number} (d={dilation})").format(number=n + 1, dilation=d)
        for n, d in enumerate(stack.dilations)
    ]
    text = [[("" if np.isnan(v) else f"{v:.1f}") for v in row] for row in values]
    data = [
        go.Heatmap(  # trace 0: padding, grey
            z=np.where(np.isnan(values), 0.0, np.nan),
            x=x,
            y=list(range(levels)),
            colorscale=[[0, "#e2e8f0"], [1, "#e2e8f0"]],
            showscale=False,
            hoverinfo="skip",
            xgap=2,
            ygap=6,
        ),
        go.Heatmap(  # trace 1: the values, the cone in orange
            z=np.where(np.isnan(values), np.nan, np.where(in_cone, 1.0, 0.0)),
            x=x,
            y=list(range(levels)),
            colorscale=[[0, "#dbeafe"], [1, CONE]],
            zmin=0,
            zmax=1,
            showscale=False,
            text=text,
            texttemplate="%{text}" if pad + length <= 24 else "",  # readable only then
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
    figure = go.Figure(data)
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
            text=_("output t = {position} depends on the orange cells").format(position=position),
            x=0,
            font=dict(size=14),
        ),
    )
    return figure
