"""Figures and presets of the convolution explorer: the animated sliding window and its numbers.

Plain functions that return plotly figures or numpy arrays, so tests inspect them without a
browser. The animation runs in the browser (plotly frames), not as one server rerun per step.

The figures are built as the finished dicts plotly.js receives (`PlotlySpec`), never as
plotly.py objects, and kept per configuration (least recently used first out): building,
validating and deep-copying plotly.py's object tree was most of a rerun's figure time, and a
class of students asks for the same configurations again and again.
"""

from __future__ import annotations

import base64
import functools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale, sample_colorscale

from core.convolution.reference import Geometry
from core.i18n import N_, _, language, ltr
from dashboard.charts import contrasting_text_colour
from dashboard.memo import Frozen, frozen

MAX_FRAMES = 400
# The sliding-window figure's margins and the room its axes' tick labels take below the
# plots, in pixels: Play and the cell slider go below that, never over the labels.
TOP_MARGIN = 56
BOTTOM_MARGIN = 130
AXIS_LABELS = 30
# Cell size in pixels: at most MAX_CELL, less when the maps need more than the width of a
# TYPICAL_WIDTH-pixel figure (the explorer's main column at 1000-1400 px windows).
MAX_CELL = 34
TYPICAL_WIDTH = 640
MIN_PLOT, MAX_PLOT = 40, 560
MIN_TEXT_CELL = 20  # smaller cells show their numbers on hover only
# The gap between the input and the output map, as a share of the width: room for the output's
# row labels (at 0.06 they touched the input map at 1000 px).
MAP_GAP = 0.09
# Figures here skip plotly.py's validation (for speed), which is also what turns a colour
# scale's name into colours; plotly.js knows other names, so the scales are spelled out.
BLUES = get_colorscale("Blues")
ORANGES = get_colorscale("Oranges")
RED_BLUE = get_colorscale("RdBu")
PAD_GREY = "#e2e8f0"  # padding cells and a transposed convolution's inserted zeros

# The eight cases of LESSON.md section 6 (Dumoulin and Visin): input, kernel, padding,
# stride, dilation and the output the lecture shows.
LECTURE_CASES: dict[str, dict[str, int]] = {
    N_("no padding, no strides"): dict(size=4, kernel=3, padding=0, stride=1, dilation=1, out=2),
    N_("arbitrary padding"): dict(size=5, kernel=4, padding=2, stride=1, dilation=1, out=6),
    N_("half (same) padding"): dict(size=5, kernel=3, padding=1, stride=1, dilation=1, out=5),
    N_("full padding"): dict(size=5, kernel=3, padding=2, stride=1, dilation=1, out=7),
    N_("no padding, strides"): dict(size=5, kernel=3, padding=0, stride=2, dilation=1, out=2),
    N_("padding, strides"): dict(size=5, kernel=3, padding=1, stride=2, dilation=1, out=3),
    N_("padding, strides (odd)"): dict(size=6, kernel=3, padding=1, stride=2, dilation=1, out=3),
    N_("dilation"): dict(size=7, kernel=3, padding=0, stride=1, dilation=2, out=3),
}


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


def cells_path(cells: list[tuple[int, int]]) -> str:
    """One SVG path outlining many unit cells (row, col): one shape instead of one per cell."""
    return " ".join(f"M{c - 0.5},{r - 0.5}H{c + 0.5}V{r + 0.5}H{c - 0.5}Z" for r, c in cells)


def _window_shapes(geometry: Geometry, i: int, j: int, colour: str) -> list[dict]:
    if geometry.dilation == (1, 1):  # the taps fill the window: one rectangle
        top, left = i * geometry.stride[0], j * geometry.stride[1]
        taps = dict(
            type="rect",
            x0=left - 0.5,
            x1=left + geometry.kernel[1] - 0.5,
            y0=top - 0.5,
            y1=top + geometry.kernel[0] - 0.5,
        )
    else:  # dilated: outline each tap, the gaps between them visible
        taps = dict(type="path", path=cells_path([(r, s) for *_, r, s in geometry.taps(i, j)]))
    return [
        dict(xref="x", yref="y", line=dict(color=colour, width=3), **taps),
        _cell_box(i, j, "2", colour),
    ]


def _cell_box(row: int, col: int, axis: str, colour: str, **extra) -> dict:
    """A 3 px outline around one cell of the input (axis "") or the output ("2") heatmap."""
    return dict(
        type="rect",
        xref="x" + axis,
        yref="y" + axis,
        x0=col - 0.5,
        x1=col + 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line=dict(color=colour, width=3),
        **extra,
    )


def _static_shapes(geometry: Geometry) -> list[dict]:
    """The border of the real input inside the padding, and the input rows/columns that no
    window reaches (shaded red and crossed out)."""
    shapes = []
    (ph, pw), (h, w) = geometry.padding, geometry.in_size
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
    dropped = sorted(
        {(ph + r, pw + c) for r in rows for c in range(w)}
        | {(ph + r, pw + c) for c in cols for r in range(h)}
    )
    if dropped:
        shapes.append(
            dict(
                type="path",
                xref="x",
                yref="y",
                path=cells_path(dropped),
                fillcolor="rgba(220,38,38,0.22)",
                line=dict(width=0),
            )
        )
        # Crossed out as well as shaded: not said by colour alone (issue 25).
        crosses = " ".join(
            f"M{c - 0.4},{r - 0.4}L{c + 0.4},{r + 0.4}M{c + 0.4},{r - 0.4}L{c - 0.4},{r + 0.4}"
            for r, c in dropped
        )
        shapes.append(
            dict(type="path", xref="x", yref="y", path=crosses, line=dict(color="#7f1d1d", width=1))
        )
    return shapes


# The selected window's taps: solid red. An input cell and the outputs it feeds: dashed black.
# Told apart by the line's style and lightness as well as its hue (issue 25: red against green
# was the one pair the common colour blindnesses confuse).
TAPS_COLOUR = "#dc2626"
FEED_COLOUR = "#000000"
FEED_FILL = "rgba(0,0,0,0.12)"


def _feed_shapes(geometry: Geometry, cell: tuple[int, int]) -> list[dict]:
    """The chosen input cell and every output cell it feeds, outlined in dashed black."""
    row, col = cell
    fed = [(i, j) for i, j, _row, _col in geometry.feeds(row, col)]
    box = _cell_box(row, col, "", FEED_COLOUR, fillcolor=FEED_FILL)
    box["line"]["dash"] = "dash"
    shapes = [box]
    if fed:
        shapes.append(
            dict(
                type="path",
                xref="x2",
                yref="y2",
                path=cells_path(fed),
                line=dict(color=FEED_COLOUR, width=3, dash="dash"),
                fillcolor=FEED_FILL,
            )
        )
    return shapes


class PlotlySpec(go.Figure):
    """A figure held as the dict plotly.js receives: numpy arrays already base64 typed arrays
    and plotly's default template in place, as `go.Figure(spec).to_dict()` would give them.

    It skips plotly.py's object tree on purpose (no `Figure.__init__`). What it relies on:
    `st.plotly_chart` hands a figure to `plotly.tools.return_figure_from_figure_or_data`, which
    for a BaseFigure only calls `to_dict`, then to `plotly.io.to_json(validate=False)`, which
    calls `to_dict` again; nothing else. tests/dashboard/convolution/test_views.py pins it (the JSON
    sent equals a real go.Figure's). The dict is shared between sessions (cached): read it,
    never change it.
    """

    def __init__(self, spec: dict) -> None:  # noqa: D107 - no plotly.py tree, see above
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec


CACHED_FIGURES = 128  # per figure kind; a default-sized figure is ~25 kB, the largest ~250 kB


def _typed(values: np.ndarray) -> dict | np.ndarray:
    """A numpy array as plotly.js's base64 typed array, as plotly.py's `to_dict` sends it
    (`_plotly_utils.utils.to_typed_array_spec`: int64 narrowed to the smallest int type)."""
    values = np.ascontiguousarray(values)
    if values.size == 0:
        return values
    if values.dtype == np.int64:
        low, high = values.min(), values.max()
        for narrow in (np.int8, np.int16, np.int32):
            info = np.iinfo(narrow)
            if info.min <= low and high <= info.max:
                values = values.astype(narrow)
                break
        else:
            return values
    short = {"int8": "i1", "int16": "i2", "int32": "i4", "float32": "f4", "float64": "f8"}
    typed = {"dtype": short[str(values.dtype)], "bdata": base64.b64encode(values).decode()}
    if values.ndim > 1:
        typed["shape"] = str(values.shape)[1:-1]
    return typed


@functools.cache
def _template(name: str | None) -> dict | None:
    """The layout template `go.Figure` adds to every figure (`name`: pio.templates.default)."""
    return go.Figure().to_dict()["layout"].get("template")


def _finished(data: list[dict], layout: dict, frames: list[dict] | None = None) -> dict:
    """The dict `go.Figure(dict(data=data, layout=layout, frames=frames)).to_dict()` gives."""
    template = _template(pio.templates.default)
    spec = dict(data=data, layout=layout if template is None else {**layout, "template": template})
    if frames is not None:
        spec["frames"] = frames
    return spec


def _text(values: np.ndarray, padding: np.ndarray | None = None) -> list[list[str]]:
    """Cell labels; a padding cell that holds no number (max pooling pads with -inf, which
    the window never picks) reads "pad"."""
    if padding is None:
        padding = np.zeros(values.shape, dtype=bool)
    return [
        ["pad" if pad and not np.isfinite(v) else _fmt(v) for v, pad in zip(row, pads, strict=True)]
        for row, pads in zip(values, padding, strict=True)
    ]


def cell_numbers(
    text: list[list[str]],
    z: np.ndarray,
    colorscale: list,
    axes: tuple[str, str] = ("x", "y"),
    empty: str = "#ffffff",
    zrange: tuple[float, float] | None = None,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
) -> dict:
    """The numbers of a heatmap's cells as a text trace, each in white or black, whichever
    reads better on its own cell (at least 4.58:1, WCAG AA asks 4.5:1; plotly's own "auto"
    text colour picks #444 or white by lightness, which fell to 3.9:1 on mid blues). The
    cell's colour is the one plotly gives `z` on `colorscale` (its range `zrange`, else the
    finite values' own); `empty` is the colour under a NaN cell. The numbers sit at the
    heatmap's own column and row coordinates `x` and `y` (default: their indices). Not
    hoverable: the heatmap and the click markers under it keep the hover and the clicks."""
    values = np.asarray(z, dtype=float)
    finite = values[np.isfinite(values)]
    low, high = zrange or ((float(finite.min()), float(finite.max())) if finite.size else (0, 1))
    share = np.full(values.shape, 0.5) if high <= low else (values - low) / (high - low)
    rows, cols = np.indices(values.shape).reshape(2, -1)  # row by row
    painted = np.isfinite(values.ravel())
    backgrounds = np.full(values.size, empty, dtype=object)
    if painted.any():  # one call for every cell: plotly samples the scale as it paints it
        backgrounds[painted] = sample_colorscale(
            colorscale, np.clip(share.ravel()[painted], 0, 1).tolist()
        )
    xa, ya = axes
    return dict(
        type="scatter",
        x=_typed(cols) if x is None else np.asarray(x)[cols],
        y=_typed(rows) if y is None else np.asarray(y)[rows],
        xaxis=xa,
        yaxis=ya,
        mode="text",
        text=[text[r][c] for r, c in zip(rows, cols, strict=True)],
        textfont=dict(size=12, color=[contrasting_text_colour(b) for b in backgrounds]),
        hoverinfo="skip",
        showlegend=False,
    )


def sliding_window_figure(
    padded: np.ndarray,
    output: np.ndarray,
    geometry: Geometry,
    selected: tuple[int, int],
    frame_ms: int = 600,
    input_title: str = "padded input",
    output_title: str = "output",
    real: np.ndarray | None = None,
    input_cell: tuple[int, int] | None = None,
) -> PlotlySpec:
    """Padded input (padding cells grey) and output side by side, numbers in the cells; the
    window of the selected output cell outlined; Play animates the window over every cell.

    `real` marks the cells that hold input values (default: all but the padding; a transposed
    convolution's stretched input also has inserted zeros). `input_cell` (padded row, col),
    when given, is outlined in dashed black with every output cell it feeds. Clicking an output cell
    selects it (trace 3); clicking an input cell picks `input_cell` (trace 4)."""
    spec = _sliding_window_spec(
        Frozen(padded),
        Frozen(output),
        geometry,
        (int(selected[0]), int(selected[1])),
        int(frame_ms),
        input_title,
        output_title,
        frozen(real),
        None if input_cell is None else (int(input_cell[0]), int(input_cell[1])),
        language(),
    )
    return PlotlySpec(spec)


@functools.lru_cache(maxsize=CACHED_FIGURES)
def _sliding_window_spec(
    padded_key: Frozen,
    output_key: Frozen,
    geometry: Geometry,
    selected: tuple[int, int],
    frame_ms: int,
    input_title: str,
    output_title: str,
    real_key: Frozen | None,
    input_cell: tuple[int, int] | None,
    language: str,  # noqa: ARG001 - the cache's key: the figure's words are in it
) -> dict:
    padded, output = padded_key.array(), output_key.array()
    real = None if real_key is None else real_key.array()
    hp, wp = padded.shape
    out_h, out_w = output.shape
    rows, cols = np.mgrid[0:hp, 0:wp]
    (ph, pw), (h, w) = geometry.padding, geometry.in_size
    if real is None:
        is_pad = (rows < ph) | (rows >= ph + h) | (cols < pw) | (cols >= pw + w)
    else:
        is_pad = ~np.asarray(real, dtype=bool)
    shown = np.where(is_pad | ~np.isfinite(padded), np.nan, padded)
    # The input's share of the width follows the sizes, within limits that leave each title
    # room over its own map (a 1-cell output once pushed its title off the right edge).
    split = min(max(wp / (wp + out_w), 0.5), 0.72) * (1 - MAP_GAP)
    # Cells are square (scaleanchor), so a wide map is limited by the page's width, not by the
    # figure's height: size the height for a typical width, or a wide input floats in white.
    cell_in = min(MAX_CELL, TYPICAL_WIDTH * split / wp)
    cell_out = min(MAX_CELL, TYPICAL_WIDTH * (1 - MAP_GAP - split) / out_w)
    grid_i, grid_j = np.mgrid[0:out_h, 0:out_w]
    data = [
        dict(
            type="heatmap",
            z=_typed(np.where(is_pad, 0.0, np.nan)),
            xaxis="x",
            yaxis="y",
            colorscale=[[0, PAD_GREY], [1, PAD_GREY]],
            showscale=False,
            hoverongaps=False,
            hovertemplate=_("padding (padded row %{y}, col %{x})") + "<extra></extra>",
        ),
        dict(
            type="heatmap",
            z=_typed(shown),
            xaxis="x",
            yaxis="y",
            colorscale=BLUES,
            showscale=False,
            hovertemplate=_("padded row %{y}, col %{x}: %{z}") + "<extra></extra>",
            hoverongaps=False,
            text=_text(padded, is_pad),
        ),
        dict(
            type="heatmap",
            z=_typed(output),
            xaxis="x2",
            yaxis="y2",
            colorscale=ORANGES,
            showscale=False,
            hovertemplate=_("output row %{y}, col %{x}: %{z:.4g}") + "<extra></extra>",
            text=_text(output),
        ),
        # Clicking a heatmap selects nothing in Streamlit; clicking a marker does. One faint
        # marker per output cell makes every cell clickable (this is trace 3).
        dict(
            type="scatter",
            x=_typed(grid_j.ravel()),
            y=_typed(grid_i.ravel()),
            xaxis="x2",
            yaxis="y2",
            mode="markers",
            showlegend=False,
            marker=dict(symbol="square", size=28, color="rgba(0,0,0,0.01)"),
            hovertemplate=_("output row %{y}, col %{x}: click to select") + "<extra></extra>",
        ),
        # Trace 4: the same for the input cells, to ask which output cells one of them feeds.
        dict(
            type="scatter",
            x=_typed(cols.ravel()),
            y=_typed(rows.ravel()),
            xaxis="x",
            yaxis="y",
            mode="markers",
            showlegend=False,
            text=[cell for row in _text(padded, is_pad) for cell in row],
            marker=dict(symbol="square", size=max(6, min(28, cell_in)), color="rgba(0,0,0,0.01)"),
            hovertemplate=_(
                "padded row %{y}, col %{x}: %{text}<br>click: the output cells it feeds"
            )
            + "<extra></extra>",
        ),
    ]
    # The numbers in the cells (traces 5 and 6, after the click markers), where they fit.
    if cell_in >= MIN_TEXT_CELL:
        data.append(cell_numbers(_text(padded, is_pad), shown, BLUES, empty=PAD_GREY))
    if cell_out >= MIN_TEXT_CELL:
        data.append(cell_numbers(_text(output), output, ORANGES, axes=("x2", "y2")))
    static = _static_shapes(geometry) if real is None else []
    if input_cell is not None:
        static += _feed_shapes(geometry, input_cell)
    cells = frame_cells(out_h, out_w)
    frames = [
        dict(
            name=f"{i},{j}",
            layout=dict(shapes=static + _window_shapes(geometry, i, j, TAPS_COLOUR)),
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

    plot_height = round(min(MAX_PLOT, max(MIN_PLOT, hp * cell_in, out_h * cell_out)))
    height = plot_height + TOP_MARGIN + BOTTOM_MARGIN

    def axis(
        domain: list[float], count: int, anchor: str, flip: bool, scale: str | None, cell: float
    ):
        extra = dict(scaleanchor=scale, constrain="domain") if scale else dict(constrain="domain")
        return dict(
            domain=domain,
            anchor=anchor,
            showgrid=False,
            zeroline=False,
            range=[count - 0.5, -0.5] if flip else [-0.5, count - 0.5],
            dtick=1 if cell >= 14 and count <= 20 else 5 if count <= 50 else 10,
            **extra,
        )

    def below_plot(pixels: float) -> float:
        """A position `pixels` below the plots' bottom edge, in the paper units that plotly's
        buttons and sliders take (so they clear the axis labels at every height)."""
        return -pixels / plot_height

    layout = dict(
        xaxis=axis([0, split], wp, "y", False, None, cell_in),
        yaxis=axis([0, 1], hp, "x", True, "x", cell_in),
        xaxis2=axis([split + MAP_GAP, 1], out_w, "y2", False, None, cell_out),
        yaxis2=axis([0, 1], out_h, "x2", True, "x2", cell_out),
        annotations=[
            dict(
                text=input_title,
                x=split / 2,
                y=1.0,
                xref="paper",
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=14),
            ),
            dict(
                text=output_title,
                x=(split + MAP_GAP + 1) / 2,
                y=1.0,
                xref="paper",
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=14),
            ),
        ],
        shapes=static + _window_shapes(geometry, *selected, TAPS_COLOUR),
        height=height,
        margin=dict(l=10, r=10, t=TOP_MARGIN, b=BOTTOM_MARGIN),
        plot_bgcolor="white",
    )
    controls = dict(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=below_plot(AXIS_LABELS + 22),
                xanchor="left",
                yanchor="top",
                showactive=False,
                buttons=[
                    dict(
                        label=_("▶ Play"),
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
                        label=_("❚❚ Pause"),
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
                x=0.3,
                len=0.7,
                y=below_plot(AXIS_LABELS),
                yanchor="top",
                pad=dict(t=0, b=0),
                currentvalue=dict(prefix=_("output cell (row, col): "), xanchor="right"),
            )
        ],
    )
    return _finished(data, {**layout, **controls}, frames)


def kernel_stack_figure(
    weights: np.ndarray, title: str, channels: list[int] | None = None
) -> PlotlySpec:
    """The kernels of one output channel, one small heatmap per input channel it reads
    (`channels` names them: with groups, only its group's)."""
    channels = list(range(weights.shape[0])) if channels is None else channels
    spec = _kernel_stack_spec(Frozen(weights), title, tuple(map(int, channels)), language())
    return PlotlySpec(spec)


@functools.lru_cache(maxsize=CACHED_FIGURES)
def _kernel_stack_spec(
    weights_key: Frozen,
    title: str,
    channels: tuple[int, ...],
    language: str,  # noqa: ARG001 - the cache's key: the figure's words are in it
) -> dict:
    weights = weights_key.array()
    count = weights.shape[0]
    limit = float(np.abs(weights).max()) or 1.0
    width = 1.0 / count
    data, layout = (
        [],
        dict(
            height=190,
            plot_bgcolor="white",
            margin=dict(l=0, r=0, t=55, b=0),
            title=dict(text=title, font=dict(size=13), x=0, y=0.99),
            annotations=[],
        ),
    )
    numbers = []  # after all the heatmaps: trace c stays input channel c's kernel
    for c in range(count):
        suffix = "" if c == 0 else str(c + 1)
        data.append(
            dict(
                type="heatmap",
                z=weights[c].tolist(),
                zmin=-limit,
                zmax=limit,
                colorscale=RED_BLUE,
                showscale=False,
                text=_text(weights[c]),
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                hovertemplate="w[%{y}, %{x}] = %{z:.4g}<extra></extra>",
            )
        )
        numbers.append(
            cell_numbers(
                _text(weights[c]),
                weights[c],
                RED_BLUE,
                axes=(f"x{suffix}", f"y{suffix}"),
                zrange=(-limit, limit),
            )
        )
        domain = [c * width + 0.02, (c + 1) * width - 0.02]
        layout[f"xaxis{suffix}"] = dict(
            domain=domain,
            anchor=f"y{suffix}",
            showgrid=False,
            zeroline=False,
            showticklabels=False,
            constrain="domain",
        )
        layout[f"yaxis{suffix}"] = dict(
            anchor=f"x{suffix}",
            autorange="reversed",
            showgrid=False,
            zeroline=False,
            showticklabels=False,
            scaleanchor=f"x{suffix}",
            constrain="domain",
        )
        layout["annotations"].append(
            dict(
                text=_("input channel {channels}").format(channels=channels[c]),
                x=sum(domain) / 2,
                y=1.0,
                xref="paper",
                yref="paper",
                yanchor="bottom",
                showarrow=False,
            )
        )
    return _finished(data + numbers, layout)


# Text equivalents of the explorer's figures (dashboard/described.py).


def _matrix_table(values: np.ndarray, one_d: bool) -> pd.DataFrame:
    """A map as a table: one row a map row ("row" column first), one column a map column."""
    values = np.atleast_2d(values)
    table = pd.DataFrame(
        [[_fmt(v) for v in row] for row in values],
        columns=[
            (_("position {index}") if one_d else _("col {index}")).format(index=j)
            for j in range(values.shape[1])
        ],
    )
    if not one_d:
        table.insert(0, _("row"), list(range(values.shape[0])))
    return table


def window_text(
    padded: np.ndarray,
    output: np.ndarray,
    geometry: Geometry,
    selected: tuple[int, int],
    name: str,
    one_d: bool = False,
) -> tuple[str, pd.DataFrame]:
    """The sliding-window figure in words (the maps' sizes, the selected cell's value and the
    input cells its window reads) and its output map as a table."""
    i, j = selected
    taps = geometry.taps(i, j)
    rows = sorted({r for *_k, r, _c in taps})
    cols = sorted({c for *_k, _r, c in taps})
    value = _fmt(float(output[i, j]))
    if one_d:
        summary = _(
            "Input of {input} cells (padding included), output of {output} cells. The selected"
            " output {name} = {value} reads input positions {first} to {last}."
        ).format(
            input=padded.shape[1],
            output=output.shape[1],
            name=ltr(name),
            value=ltr(value),
            first=cols[0],
            last=cols[-1],
        )
    else:
        summary = _(
            "Input {input} (padding included), output {output}. The selected output {name} ="
            " {value} reads input rows {top} to {bottom}, columns {left} to {right}."
        ).format(
            input=ltr(f"{padded.shape[0]}×{padded.shape[1]}"),
            output=ltr(f"{output.shape[0]}×{output.shape[1]}"),
            name=ltr(name),
            value=ltr(value),
            top=rows[0],
            bottom=rows[-1],
            left=cols[0],
            right=cols[-1],
        )
    return summary, _matrix_table(output, one_d)


def kernel_stack_text(weights: np.ndarray, channels: list[int]) -> tuple[str, pd.DataFrame]:
    """The kernel stack in words (how many kernels of which size, the weights' range) and its
    weights as a table, one row a kernel row of one input channel."""
    count, kh, kw = weights.shape
    summary = _(
        "Kernels in the stack: {count}, each {size}, one per input channel read; weights from"
        " {low} to {high}."
    ).format(
        count=count,
        size=ltr(f"{kh}×{kw}"),
        low=ltr(f"{float(weights.min()):.3g}"),
        high=ltr(f"{float(weights.max()):.3g}"),
    )
    rows = []
    for c, channel in enumerate(channels):
        for m in range(kh):
            rows.append(
                {_("input channel"): channel, _("kernel row"): m}
                | {_("col {index}").format(index=n): _fmt(weights[c, m, n]) for n in range(kw)}
            )
    return summary, pd.DataFrame(rows)
