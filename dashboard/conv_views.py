"""Figures and presets of the convolution explorer: the animated sliding window and its numbers.

Plain functions that return plotly figures or numpy arrays, so tests inspect them without a
browser. The animation runs in the browser (plotly frames), not as one server rerun per step.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.conv import Geometry

MAX_FRAMES = 400

# The eight cases of LESSON.md section 6 (Dumoulin and Visin): input, kernel, padding,
# stride, dilation and the output the lecture shows.
LECTURE_CASES: dict[str, dict[str, int]] = {
    "no padding, no strides": dict(size=4, kernel=3, padding=0, stride=1, dilation=1, out=2),
    "arbitrary padding": dict(size=5, kernel=4, padding=2, stride=1, dilation=1, out=6),
    "half (same) padding": dict(size=5, kernel=3, padding=1, stride=1, dilation=1, out=5),
    "full padding": dict(size=5, kernel=3, padding=2, stride=1, dilation=1, out=7),
    "no padding, strides": dict(size=5, kernel=3, padding=0, stride=2, dilation=1, out=2),
    "padding, strides": dict(size=5, kernel=3, padding=1, stride=2, dilation=1, out=3),
    "padding, strides (odd)": dict(size=6, kernel=3, padding=1, stride=2, dilation=1, out=3),
    "dilation": dict(size=7, kernel=3, padding=0, stride=1, dilation=2, out=3),
}

KERNEL_PRESETS_2D = (
    "random integers",
    "identity",
    "box blur",
    "sharpen",
    "Sobel x",
    "Sobel y",
    "Laplacian (edges)",
)
KERNEL_PRESETS_1D = ("random integers", "identity", "moving average", "difference")


def kernel_preset(name: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One [height, width] kernel. Named 3x3 filters need a 3x3 kernel (else ValueError)."""
    fixed = {
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "Laplacian (edges)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    }
    if name in fixed:
        if (height, width) != (3, 3):
            raise ValueError(f"the {name} kernel is 3x3: set the kernel size to 3 x 3")
        return np.array(fixed[name], dtype=float)
    if name == "identity":
        kernel = np.zeros((height, width))
        kernel[height // 2, width // 2] = 1.0
        return kernel
    if name in ("box blur", "moving average"):
        return np.full((height, width), 1.0 / (height * width))
    if name == "difference":
        kernel = np.zeros((height, width))
        kernel[0, 0], kernel[0, -1] = -1.0, 1.0
        return kernel
    return rng.integers(-2, 3, size=(height, width)).astype(float)


def frame_cells(out_h: int, out_w: int) -> list[tuple[int, int]]:
    """Output cells in row-major order, thinned evenly to at most MAX_FRAMES."""
    cells = [(i, j) for i in range(out_h) for j in range(out_w)]
    if len(cells) <= MAX_FRAMES:
        return cells
    step = len(cells) / MAX_FRAMES
    return [cells[int(k * step)] for k in range(MAX_FRAMES)]


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _window_shapes(geometry: Geometry, i: int, j: int, colour: str) -> list[dict]:
    shapes = []
    for _, _, r, s in geometry.taps(i, j):
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="y",
                x0=s - 0.5,
                x1=s + 0.5,
                y0=r - 0.5,
                y1=r + 0.5,
                line=dict(color=colour, width=3),
            )
        )
    shapes.append(
        dict(
            type="rect",
            xref="x2",
            yref="y2",
            x0=j - 0.5,
            x1=j + 0.5,
            y0=i - 0.5,
            y1=i + 0.5,
            line=dict(color=colour, width=3),
        )
    )
    return shapes


def _static_shapes(geometry: Geometry) -> list[dict]:
    """Hatched padding border and the input rows/columns no window reaches."""
    shapes = []
    (ph, pw), (h, w) = geometry.padding, geometry.in_size
    hp, wp = geometry.padded_size
    if ph or pw:
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="y",
                x0=pw - 0.5,
                x1=pw + w - 0.5,
                y0=ph - 0.5,
                y1=ph + h - 0.5,
                line=dict(color="#334155", width=1, dash="dot"),
            )
        )
    rows, cols = geometry.unused()
    for r in rows:
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="y",
                x0=pw - 0.5,
                x1=pw + w - 0.5,
                y0=ph + r - 0.5,
                y1=ph + r + 0.5,
                fillcolor="rgba(220,38,38,0.18)",
                line=dict(width=0),
            )
        )
    for c in cols:
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="y",
                x0=pw + c - 0.5,
                x1=pw + c + 0.5,
                y0=ph - 0.5,
                y1=ph + h - 0.5,
                fillcolor="rgba(220,38,38,0.18)",
                line=dict(width=0),
            )
        )
    del hp, wp
    return shapes


def sliding_window_figure(
    padded: np.ndarray,
    output: np.ndarray,
    geometry: Geometry,
    selected: tuple[int, int],
    frame_ms: int = 600,
    input_title: str = "padded input",
    output_title: str = "output",
) -> go.Figure:
    """Padded input (padding cells grey) and output side by side, numbers in the cells; the
    window of the selected output cell outlined; Play animates the window over every cell."""
    hp, wp = padded.shape
    out_h, out_w = output.shape
    is_pad = np.array([[geometry.is_padding(r, c) for c in range(wp)] for r in range(hp)])
    finite = np.where(np.isfinite(padded), padded, np.nan)
    shown = np.where(is_pad, np.nan, finite)
    show_numbers = hp * wp <= 400
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(input_title, output_title),
        column_widths=[wp / (wp + out_w), out_w / (wp + out_w)],
        horizontal_spacing=0.06,
    )
    figure.add_heatmap(
        z=np.where(is_pad, 0.0, np.nan),
        colorscale=[[0, "#e2e8f0"], [1, "#e2e8f0"]],
        showscale=False,
        hoverinfo="skip",
        row=1,
        col=1,
    )
    figure.add_heatmap(
        z=shown,
        colorscale="Blues",
        showscale=False,
        text=[[_fmt(v) for v in row] for row in padded] if show_numbers else None,
        texttemplate="%{text}" if show_numbers else None,
        hovertemplate="padded row %{y}, col %{x}: %{z}<extra></extra>",
        row=1,
        col=1,
    )
    figure.add_heatmap(
        z=output,
        colorscale="Oranges",
        showscale=False,
        text=[[_fmt(v) for v in row] for row in output],
        texttemplate="%{text}" if out_h * out_w <= 400 else None,
        hovertemplate="output row %{y}, col %{x}: %{z:.4g}<extra></extra>",
        row=1,
        col=2,
    )
    # Clicking a heatmap selects nothing in Streamlit; clicking a marker does. One faint
    # marker per output cell makes every cell clickable (this is trace 3).
    grid_i, grid_j = np.mgrid[0:out_h, 0:out_w]
    figure.add_scatter(
        x=grid_j.ravel(),
        y=grid_i.ravel(),
        mode="markers",
        marker=dict(symbol="square", size=28, color="rgba(0,0,0,0.01)"),
        hovertemplate="output row %{y}, col %{x}: click to select<extra></extra>",
        showlegend=False,
        row=1,
        col=2,
    )
    static = _static_shapes(geometry)
    figure.update_layout(shapes=static + _window_shapes(geometry, *selected, "#dc2626"))
    cells = frame_cells(out_h, out_w)
    figure.frames = [
        go.Frame(
            name=f"{i},{j}", layout=dict(shapes=static + _window_shapes(geometry, i, j, "#dc2626"))
        )
        for i, j in cells
    ]
    steps = [
        dict(
            method="animate",
            label=f"{i},{j}",
            args=[
                [f"{i},{j}"],
                dict(
                    mode="immediate",
                    frame=dict(duration=0, redraw=True),
                    transition=dict(duration=0),
                ),
            ],
        )
        for i, j in cells
    ]
    figure.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=-0.16,
                xanchor="left",
                yanchor="top",
                showactive=False,
                buttons=[
                    dict(
                        label="▶ Play",
                        method="animate",
                        args=[
                            None,
                            dict(
                                frame=dict(duration=frame_ms, redraw=True),
                                transition=dict(duration=0),
                                fromcurrent=True,
                            ),
                        ],
                    ),
                    dict(
                        label="❚❚ Pause",
                        method="animate",
                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=cells.index(selected) if selected in cells else 0,
                steps=steps,
                x=0.2,
                len=0.8,
                y=-0.1,
                yanchor="top",
                pad=dict(t=0),
                currentvalue=dict(prefix="output cell (row, col): ", xanchor="right"),
            )
        ],
        height=max(320, min(720, 34 * max(hp, out_h) + 170)),
        margin=dict(l=10, r=10, t=40, b=120),
        plot_bgcolor="white",
    )
    for col, (rows, cols) in ((1, (hp, wp)), (2, (out_h, out_w))):
        figure.update_xaxes(
            range=[-0.5, cols - 0.5],
            showgrid=False,
            zeroline=False,
            dtick=1 if cols <= 20 else 5,
            row=1,
            col=col,
            constrain="domain",
        )
        figure.update_yaxes(
            range=[rows - 0.5, -0.5],
            showgrid=False,
            zeroline=False,
            dtick=1 if rows <= 20 else 5,
            row=1,
            col=col,
            scaleanchor="x" if col == 1 else "x2",
            constrain="domain",
        )
    return figure


def kernel_stack_figure(weights: np.ndarray, title: str) -> go.Figure:
    """The kernels of one output channel, one small heatmap per input channel."""
    count = weights.shape[0]
    figure = make_subplots(
        rows=1, cols=count, subplot_titles=[f"input channel {c}" for c in range(count)]
    )
    limit = float(np.abs(weights).max()) or 1.0
    for c in range(count):
        figure.add_heatmap(
            z=weights[c],
            zmin=-limit,
            zmax=limit,
            colorscale="RdBu",
            showscale=False,
            text=[[_fmt(v) for v in row] for row in weights[c]],
            texttemplate="%{text}",
            row=1,
            col=c + 1,
            hovertemplate="w[%{y}, %{x}] = %{z:.4g}<extra></extra>",
        )
        figure.update_yaxes(
            autorange="reversed",
            showticklabels=False,
            showgrid=False,
            zeroline=False,
            row=1,
            col=c + 1,
            scaleanchor=f"x{c + 1 if c else ''}",
        )
        figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=c + 1)
    figure.update_layout(
        height=170,
        plot_bgcolor="white",
        margin=dict(l=0, r=0, t=30, b=0),
        title=dict(text=title, font=dict(size=13), x=0, y=0.99),
    )
    return figure
