"""Plotly figure builders. Plain functions that return a figure, so tests can inspect them."""

from __future__ import annotations

import plotly.graph_objects as go

BLUE = "#2563eb"
ORANGE = "#ea580c"
GREY = "#64748b"


def parameter_comparison_figure(fc_params: int, conv_params: int) -> go.Figure:
    """Two bars on a log axis: a fully connected layer against a conv layer."""
    labels = ["Fully connected", "Convolutional"]
    values = [fc_params, conv_params]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=[ORANGE, BLUE],
            text=[f"{value:,}" for value in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,} parameters<extra></extra>",
        )
    )
    figure.update_layout(
        height=200,
        margin=dict(l=10, r=60, t=30, b=30),
        xaxis=dict(type="log", title="parameters (log scale)"),
        yaxis=dict(autorange="reversed"),
        title=dict(text="Parameters of one layer", font=dict(size=14)),
        plot_bgcolor="white",
    )
    figure.update_xaxes(showgrid=True, gridcolor="#e2e8f0")
    return figure
