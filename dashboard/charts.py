"""Plotly figure builders. Plain functions that return a figure, so tests can inspect them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import get_colorscale, sample_colorscale

from core.i18n import N_, _, ltr

BLUE = "#2563eb"
ORANGE = "#ea580c"
GREY = "#64748b"


def parameter_comparison_figure(fc_params: int, conv_params: int) -> go.Figure:
    """Two bars on a log axis: a fully connected layer against a conv layer. Each bar is named
    (with its count) just above it, not by a tick label beside it, so a narrow column loses
    nothing."""
    labels = [_("Fully connected"), _("Convolutional")]
    values = [fc_params, conv_params]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            width=0.45,
            marker_color=[ORANGE, BLUE],
            hovertemplate=_("%{y}: %{x:,} parameters") + "<extra></extra>",
        )
    )
    for label, value in zip(labels, values, strict=True):
        figure.add_annotation(
            x=0,
            xref="paper",
            xanchor="left",
            y=label,
            yshift=17,
            text=f"{label}: <b>{value:,}</b>",
            showarrow=False,
            font=dict(size=12),
        )
    figure.update_layout(
        height=210,
        margin=dict(l=10, r=10, t=34, b=40),
        xaxis=dict(type="log", title=_("parameters (log scale)"), nticks=5, tickformat="~s"),
        yaxis=dict(autorange="reversed", showticklabels=False),
        title=dict(text=_("Parameters of one layer"), font=dict(size=14)),
        plot_bgcolor="white",
    )
    figure.update_xaxes(showgrid=True, gridcolor="#e2e8f0")
    return figure


def parameter_comparison_text(fc_params: int, conv_params: int) -> str:
    """The summary of `parameter_comparison_figure`: both counts and how many times more."""
    if conv_params > fc_params:
        return _(
            "The convolutional layer needs {conv_params:,} parameters, more than the fully"
            " connected layer's {fc_params:,} (bars on a log scale)."
        ).format(conv_params=conv_params, fc_params=fc_params)
    ratio = fc_params / conv_params
    return _(
        "The fully connected layer needs {fc_params:,} parameters, the convolutional layer"
        " {conv_params:,}: {ratio}× as many (bars on a log scale)."
    ).format(
        fc_params=fc_params,
        conv_params=conv_params,
        ratio=f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}",
    )


# One colour a run or a method: the Okabe-Ito set (Okabe and Ito, "Color Universal Design"),
# told apart under the common colour blindnesses; no red against green. The first four keep a
# 3:1 contrast with the white plot (WCAG 1.4.11, graphics), the lighter two come last.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9"]


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start."""
    smoothed, last, count = [], 0.0, 0
    for value in values:
        count += 1
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight**count) if weight < 1 else value)
    return smoothed


ERROR_HEADROOM = 0.15  # room above the highest validation error, as a share of it
ERROR_FOOTROOM = 0.05  # and below 0


def _is_finite(value: object) -> bool:
    return isinstance(value, (int, float)) and bool(np.isfinite(value))


def error_axis_range(errors: list[float]) -> list[float]:
    """The validation-error axis: from 0 to the highest error plus ERROR_HEADROOM of it, so
    that the markers at the top (the best-epoch star is 16 px) stay inside the plot."""
    top = max(errors, default=0.0)
    if top <= 0:
        return [0.0, 1.0]
    # A little below 0 too: a perfect epoch's marker is not cut in half, and the 0% label
    # clears the epoch axis' labels in the corner.
    return [-top * ERROR_FOOTROOM, top * (1 + ERROR_HEADROOM)]


def log_loss_ticks(losses: list[float]) -> dict:
    """Tick settings for the log loss axis: one label a decade (0.01, 0.1, 1) where the
    losses span two decades or more; else 1-2-5 steps (0.2, 0.5, 1, 2), or plotly's own
    choice within a narrow band. One label a decade alone left a run on its plateau near 2.3
    with one label or none."""
    if not losses:
        return {}
    low, high = min(losses), max(losses)
    if high / low >= 100:
        return dict(dtick=1)
    nice = [m * 10.0**e for e in range(-4, 3) for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    if len(nice) >= 2:
        return dict(tickvals=nice, ticktext=[f"{v:g}" for v in nice])
    return {}


def _empty_panel(figure: go.Figure, column: int, note: str) -> None:
    """A panel with nothing to draw yet: no ticks or grid (an empty log axis spans 0.1 to
    10k), a fixed range, a light frame, and the note in the middle."""
    frame = dict(
        range=[0, 1],
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        showline=True,
        linecolor="#e2e8f0",
        mirror=True,
    )
    figure.update_xaxes(**frame, row=1, col=column)
    figure.update_yaxes(**frame, type="linear", dtick=None, row=1, col=column)
    # plotly.js leaves out a subplot that has no trace at all (and the note with it).
    figure.add_scatter(x=[None], y=[None], showlegend=False, hoverinfo="skip", row=1, col=column)
    suffix = "" if column == 1 else str(column)
    figure.add_annotation(
        text=note,
        showarrow=False,
        xref=f"x{suffix} domain",
        yref=f"y{suffix} domain",
        x=0.5,
        y=0.5,
        xanchor="center",
        yanchor="middle",
        font=dict(color=GREY, size=14),
    )


# The per-epoch traces of a run: (record key, what it is, its legend name, panel column, its
# style); the words are translated where drawn.
EPOCH_TRACES = (
    (
        "train_loss",
        N_("train loss"),
        N_("{run} train loss (epoch)"),
        1,
        lambda colour: dict(mode="markers", marker=dict(color=colour, size=7, symbol="circle")),
    ),
    (
        "val_loss",
        N_("validation loss"),
        N_("{run} validation loss"),
        1,
        lambda colour: dict(
            mode="lines+markers",
            line=dict(color=colour, dash="dash"),
            marker=dict(symbol="diamond", size=7),
        ),
    ),
    (
        "val_error",
        N_("validation error"),
        N_("{run} validation error"),
        2,
        lambda colour: dict(mode="lines+markers", line=dict(color=colour)),
    ),
)


def training_curves_figure(
    curves: list[tuple[str, int, list[dict]]], smoothing: float = 0.6, log_loss: bool = True
) -> go.Figure:
    """Loss (left) and validation error (right) against epochs, one colour per run.

    `curves` holds (label, batches_per_epoch, metrics records) per run. Batch losses are
    drawn faint and smoothed; epoch train and validation losses as markers and lines; the best
    epoch as a star; a loss that became NaN or inf as a cross with the word, never as a gap.
    """
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_("Loss"), _("Validation error")),
        horizontal_spacing=0.12,
    )
    for index, (label, per_epoch, records) in enumerate(curves):
        colour = PALETTE[index % len(PALETTE)]
        batches = [r for r in records if r.get("kind") == "batch"]
        finite = [r for r in batches if r.get("loss") is not None]
        x = [r["epoch"] + r["batch"] / per_epoch for r in finite]
        y = [r["loss"] for r in finite]

        def add(col: int, legend: bool = False, group: str = label, **trace) -> None:
            if not legend:  # one legend entry a run: its smoothed loss
                trace["showlegend"] = False
            figure.add_scatter(legendgroup=group, row=1, col=col, **trace)

        if finite:
            add(
                1,
                x=x,
                y=y,
                mode="lines",
                line=dict(color=colour, width=1),
                opacity=0.25,
                name=_("{run} batch loss").format(run=label),
                hoverinfo="skip",
            )
            add(
                1,
                x=x,
                y=smooth(y, smoothing),
                mode="lines",
                line=dict(color=colour, width=2),
                name=f"{label}",
                legend=True,
                hovertemplate=_("epoch %{x:.2f}<br>loss %{y:.4f}") + "<extra>" + label + "</extra>",
            )
        broken = [r for r in batches if r.get("loss") is None]
        if broken:
            where, what = broken[0], broken[0].get("nonfinite") or "nan"
            add(
                1,
                x=[where["epoch"] + where["batch"] / per_epoch],
                y=[y[-1] if y else 2.3],
                mode="markers+text",
                marker=dict(symbol="x", size=14, color="#dc2626"),
                text=[_("diverged ({what})").format(what=what)],
                textposition="top center",
                hovertemplate=_("{run}: loss became {what} at step {step}").format(
                    run=label, what=what, step=where["step"]
                )
                + "<extra></extra>",
            )
        epochs = [r for r in records if r.get("kind") == "epoch"]
        if epochs:
            ex = [r["epoch"] for r in epochs]
            for key, what, name, col, style in EPOCH_TRACES:
                add(
                    col,
                    x=ex,
                    y=[r[key] for r in epochs],
                    name=_(name).format(run=label),
                    hovertemplate=_("epoch %{x}<br>{what} %{y:.4f}").replace("{what}", _(what))
                    + "<extra></extra>",
                    **style(colour),
                )
            best = epochs[-1].get("best_epoch")
            best_rows = [r for r in epochs if r["epoch"] == best]
            if best_rows:
                add(
                    2,
                    x=[best],
                    y=[best_rows[0]["val_error"]],
                    mode="markers",
                    marker=dict(
                        symbol="star", size=16, color=colour, line=dict(color="black", width=1)
                    ),
                    name=_("{run} best epoch").format(run=label),
                    hovertemplate=_("best epoch {best}<br>validation error %{y:.4f}").replace(
                        "{best}", str(best)
                    )
                    + "<extra></extra>",
                )
    all_records = [r for _label, _per_epoch, records in curves for r in records]
    has_batches = any(r.get("kind") == "batch" for r in all_records)
    errors = [
        r["val_error"]
        for r in all_records
        if r.get("kind") == "epoch" and _is_finite(r.get("val_error"))
    ]
    losses = [
        v
        for r in all_records
        for v in (r.get("loss"), r.get("train_loss"), r.get("val_loss"))
        if _is_finite(v) and v > 0
    ]
    figure.update_xaxes(title_text=_("epoch"), rangemode="tozero", gridcolor="#e2e8f0")
    figure.update_yaxes(
        title_text=_("cross-entropy"),
        type="log" if log_loss else "linear",
        **(log_loss_ticks(losses) if log_loss else {}),
        gridcolor="#e2e8f0",
        row=1,
        col=1,
    )
    figure.update_yaxes(
        # No axis title: the panel's title says what it is, and a title squeezed between the
        # panels ran into the loss panel's last markers at 1000 px.
        tickformat=".1%",
        # Set, not autoranged: plotly's autorange left the best-epoch star (16 px) sticking
        # out of the top of the axis when the error was near its maximum.
        range=error_axis_range(errors),
        gridcolor="#e2e8f0",
        row=1,
        col=2,
    )
    if not has_batches:
        _empty_panel(figure, 1, _("no batches logged yet"))
    if not errors:
        _empty_panel(figure, 2, _("appears after the first epoch"))
    figure.update_layout(
        height=380,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        legend=dict(orientation="h", y=-0.2),
        uirevision="training-curves",
    )
    return figure


CONFUSION_CLICK_TRACE = 2  # the trace whose points a click on the confusion matrix selects
# The diagonal (right answers) in a pale blue, the errors in reds: told apart by lightness and
# hue under the common colour blindnesses (green against red was not), and by place.
CORRECT_BLUE = "#dbeafe"
ERROR_REDS = get_colorscale("Reds")


def _luminance(colour: str) -> float:
    """WCAG relative luminance of '#rrggbb', 'rgb(r, g, b)', 'white' or 'black'."""
    colour = {"white": "#ffffff", "black": "#000000"}.get(colour, colour)
    if colour.startswith("#"):
        channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [float(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    linear = [
        c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
        for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 to 21."""
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def contrasting_text_colour(background: str) -> str:
    """White or black, whichever contrasts more with `background`: at least 4.58:1 on any
    colour (WCAG AA asks 4.5:1 for text), the crossing of the two being a mid grey."""
    return (
        "white"
        if contrast_ratio("#ffffff", background) >= contrast_ratio("#000000", background)
        else "black"
    )


def confusion_matrix_figure(
    confusion: np.ndarray, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Counts of (true, predicted) pairs, written in the cells; the diagonal (correct) pale
    blue, the errors red on a log scale so that a handful shows next to thousands. One faint marker
    per cell (trace CONFUSION_CLICK_TRACE) makes every cell clickable in Streamlit."""
    digits = list(range(confusion.shape[0]))
    diagonal = np.eye(len(digits), dtype=bool)
    errors = np.where(diagonal, np.nan, np.log10(confusion + 1.0))
    highest = float(np.nanmax(errors)) if np.isfinite(errors).any() else 1.0
    grid_true, grid_pred = np.meshgrid(digits, digits, indexing="ij")
    figure = go.Figure()
    zmax = max(highest, 0.5)
    # Each count in the colour that reads on its own cell: white on dark red, black elsewhere.
    backgrounds = np.where(
        diagonal,
        CORRECT_BLUE,
        np.reshape(
            sample_colorscale(ERROR_REDS, np.clip(np.nan_to_num(errors) / zmax, 0, 1).ravel()),
            errors.shape,
        ),
    )
    figure.add_heatmap(
        z=np.where(diagonal, 1.0, np.nan),
        x=digits,
        y=digits,
        colorscale=[[0, CORRECT_BLUE], [1, CORRECT_BLUE]],
        showscale=False,
        hoverinfo="skip",
    )
    figure.add_heatmap(
        z=errors,
        x=digits,
        y=digits,
        colorscale=ERROR_REDS,
        zmin=0,
        zmax=zmax,
        showscale=False,
        hoverinfo="skip",
    )
    figure.add_scatter(
        x=grid_pred.ravel(),
        y=grid_true.ravel(),
        mode="markers+text",
        text=[str(count) for count in confusion.ravel()],
        textfont=dict(size=12, color=[contrasting_text_colour(c) for c in backgrounds.ravel()]),
        marker=dict(symbol="square", size=36, color="rgba(0,0,0,0.01)"),
        customdata=confusion.ravel(),
        showlegend=False,
        hovertemplate=_("true %{y}, predicted %{x}: %{customdata} images<br>click to show them")
        + "<extra></extra>",
    )
    if selected is not None:
        true, predicted = selected
        figure.add_shape(
            type="rect",
            x0=predicted - 0.5,
            x1=predicted + 0.5,
            y0=true - 0.5,
            y1=true + 0.5,
            line=dict(color=BLUE, width=3),
        )
    figure.update_xaxes(
        title_text=_("predicted digit"),
        dtick=1,
        side="top",
        showgrid=False,
        zeroline=False,
        range=[-0.5, len(digits) - 0.5],
        constrain="domain",
    )
    figure.update_yaxes(
        title_text=_("true digit"),
        dtick=1,
        range=[len(digits) - 0.5, -0.5],
        constrain="domain",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
    )
    figure.update_layout(height=440, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white")
    return figure


def confusion_text(confusion: np.ndarray) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `confusion_matrix_figure`: how many digits are
    misclassified, the most frequent confusion; one row a true digit, one column a prediction."""
    confusion = np.asarray(confusion)
    total = int(confusion.sum())
    errors = np.where(np.eye(len(confusion), dtype=bool), 0, confusion)
    wrong = int(errors.sum())
    if wrong == 0:
        summary = _("All {total:,} test digits are on the diagonal: none misclassified.").format(
            total=total
        )
    else:
        true, predicted = np.unravel_index(int(np.argmax(errors)), errors.shape)
        summary = _(
            "{wrong:,} of {total:,} test digits misclassified (off the diagonal). The most"
            " frequent confusion: {true} read as {predicted}, {count:,} images."
        ).format(
            wrong=wrong,
            total=total,
            true=int(true),
            predicted=int(predicted),
            count=int(errors[true, predicted]),
        )
    columns = {_("true digit"): list(range(len(confusion)))}
    for digit in range(confusion.shape[1]):
        columns[_("predicted {digit}").format(digit=digit)] = confusion[:, digit].astype(int)
    return summary, pd.DataFrame(columns)


def per_class_error_figure(errors: np.ndarray) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=list(range(len(errors))),
            y=errors,
            marker_color=ORANGE,
            text=[f"{e:.1%}" for e in errors],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=_("digit %{x}: %{y:.2%} of its test images misclassified")
            + "<extra></extra>",
        )
    )
    figure.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        title=dict(text=_("Error rate per true digit"), font=dict(size=14)),
    )
    figure.update_xaxes(dtick=1, title_text=_("true digit"))
    figure.update_yaxes(tickformat=".1%", gridcolor="#e2e8f0", rangemode="tozero")
    return figure


def per_class_error_text(errors: np.ndarray) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `per_class_error_figure`: the hardest and easiest digit."""
    errors = np.asarray(errors, dtype=float)
    worst, best = int(np.argmax(errors)), int(np.argmin(errors))
    summary = _(
        "Digit {worst} is misclassified most often, {worst_rate:.1%} of its test images;"
        " digit {best} least often, {best_rate:.1%}."
    ).format(worst=worst, worst_rate=errors[worst], best=best, best_rate=errors[best])
    table = pd.DataFrame(
        {
            _("true digit"): list(range(len(errors))),
            _("error rate"): [round(float(e), 4) for e in errors],
        }
    )
    return summary, table


def probability_bars_figure(probabilities: np.ndarray, true: int | None = None) -> go.Figure:
    """The model's probability for each digit; the prediction in blue (the tallest bar), the
    truth hatched (a pattern, not a colour, tells it)."""
    predicted = int(np.argmax(probabilities))
    colours = [BLUE if d == predicted else "#cbd5e1" for d in range(len(probabilities))]
    figure = go.Figure(
        go.Bar(
            x=list(range(len(probabilities))),
            y=probabilities,
            marker_color=colours,
            # The pattern's lines in dark grey or white, whichever reads on the bar's colour.
            marker_pattern=dict(
                shape=["/" if d == true else "" for d in range(len(probabilities))],
                solidity=0.35,
            ),
            text=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=_("digit %{x}: %{y:.3%}") + "<extra></extra>",
        )
    )
    figure.update_layout(
        height=240,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        title=dict(
            text=_("Probabilities (hatched bar: the true digit)")
            if true is not None
            else _("Probabilities"),
            font=dict(size=14),
        ),
    )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.1], tickformat=".0%", gridcolor="#e2e8f0")
    return figure


def probability_text(
    probabilities: np.ndarray, true: int | None = None
) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `probability_bars_figure`: the answer, the runner-up and,
    when known, the true digit's probability."""
    probabilities = np.asarray(probabilities, dtype=float)
    predicted, second = (int(d) for d in np.argsort(-probabilities, kind="stable")[:2])
    if true is None:
        summary = _("The network answers {predicted} ({p:.1%}); next comes {second} ({q:.1%}).")
    elif true == predicted:
        summary = _(
            "The network answers {predicted} ({p:.1%}), the true digit (hatched); next comes"
            " {second} ({q:.1%})."
        )
    else:
        summary = _(
            "The network answers {predicted} ({p:.1%}); the true digit, {true} (hatched), gets"
            " {t:.1%}."
        )
    summary = summary.format(
        predicted=predicted,
        p=probabilities[predicted],
        second=second,
        q=probabilities[second],
        true=true,
        t=probabilities[true] if true is not None else 0.0,
    )
    table = pd.DataFrame(
        {
            _("digit"): list(range(len(probabilities))),
            _("probability"): [round(float(p), 4) for p in probabilities],
        }
    )
    return summary, table


def mosaic(maps: np.ndarray, columns: int, normalize: bool = False) -> np.ndarray:
    """Tile [N, H, W] maps into one [rows*(H+1)-1, columns*(W+1)-1] array, NaN between tiles.

    One heatmap trace for a whole layer draws far faster than one subplot per map. With
    `normalize`, every map is scaled to [0, 1] by its own range (a colour scale per map)."""
    count, height, width = maps.shape
    rows = -(-count // columns)
    tiles = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index in range(count):
        tile = maps[index].astype(float)
        if normalize:
            low, high = float(tile.min()), float(tile.max())
            tile = (tile - low) / (high - low) if high > low else np.zeros_like(tile)
        r, c = divmod(index, columns)
        tiles[
            r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width
        ] = tile
    return tiles


def mosaic_figure(
    tiles: np.ndarray,
    title: str,
    zmin: float | None = None,
    zmax: float | None = None,
    colorscale: str | list = "Viridis",
    height: int = 260,
    hover: np.ndarray | None = None,
) -> go.Figure:
    """A tiled mosaic (see `mosaic`) as one heatmap; `hover` holds the raw values if the
    colours were normalised."""
    figure = go.Figure(
        go.Heatmap(
            z=tiles,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            showscale=zmin is not None,
            customdata=hover if hover is not None else tiles,
            hovertemplate="%{customdata:.3f}<extra></extra>",
            hoverongaps=False,
        )
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=30, b=0),
        plot_bgcolor="white",
        title=dict(text=title, font=dict(size=14), x=0),
    )
    return figure


# Which third of a map, down and across (shown translated).
MAP_REGIONS = (
    (N_("top left"), N_("top centre"), N_("top right")),
    (N_("middle left"), N_("centre"), N_("middle right")),
    (N_("bottom left"), N_("bottom centre"), N_("bottom right")),
)


def map_region(row: int, column: int, height: int, width: int) -> str:
    """Where (`row`, `column`) lies in a `height` x `width` map, in thirds, translated."""
    return _(MAP_REGIONS[min(2, 3 * int(row) // height)][min(2, 3 * int(column) // width)])


def kernels_text(weights: np.ndarray, name: str) -> tuple[str, pd.DataFrame]:
    """The summary and table of a layer's kernel mosaic, `weights` [out, in, k, k]: the range of
    the weights and the strongest kernel (the largest mean |weight|), counted from 1 as the
    mosaic shows them. With one input channel (C1) the table holds the weights themselves, one
    row a kernel row; with more (C3), one row a kernel with its smallest, largest and mean
    absolute weight (its 16x6 mosaic of 5x5 kernels is too big for a table of weights)."""
    weights = np.asarray(weights, dtype=float)
    outputs, inputs, height, width = weights.shape
    strength = np.abs(weights).mean(axis=(2, 3))  # [out, in]
    output, input_ = (int(i) for i in np.unravel_index(int(np.argmax(strength)), strength.shape))
    values = dict(
        name=name,
        count=outputs * inputs,
        size=ltr(f"{height}×{width}"),
        low=float(weights.min()),
        high=float(weights.max()),
        strength=float(strength[output, input_]),
    )
    if inputs == 1:
        summary = _(
            "{name}: {count} kernels of {size}, weights from {low:.2f} to {high:.2f}; the"
            " strongest (largest mean |weight|) is kernel {kernel} of {count}, at {strength:.2f}."
        ).format(kernel=output + 1, **values)
        table = pd.DataFrame(
            [
                [kernel + 1, row + 1, *(round(float(w), 4) for w in weights[kernel, 0, row])]
                for kernel in range(outputs)
                for row in range(height)
            ],
            columns=[
                _("kernel"),
                _("row"),
                *(_("column {column}").format(column=c + 1) for c in range(width)),
            ],
        )
        return summary, table
    summary = _(
        "{name}: {count} kernels of {size}, one for each of {outputs} output channels (columns)"
        " and {inputs} input channels (rows); weights from {low:.2f} to {high:.2f}. The strongest"
        " (largest mean |weight|) is in column {output}, row {input}, at {strength:.2f}."
    ).format(outputs=outputs, inputs=inputs, output=output + 1, input=input_ + 1, **values)
    kernels = weights.reshape(outputs, inputs, -1)
    table = pd.DataFrame(
        [
            [
                o + 1,
                i + 1,
                round(float(kernels[o, i].min()), 4),
                round(float(kernels[o, i].max()), 4),
                round(float(strength[o, i]), 4),
            ]
            for o in range(outputs)
            for i in range(inputs)
        ],
        columns=[
            _("output channel"),
            _("input channel"),
            _("smallest weight"),
            _("largest weight"),
            _("mean |weight|"),
        ],
    )
    return summary, table


def feature_maps_text(name: str, maps: np.ndarray) -> str:
    """The summary of one layer's feature-map mosaic, `maps` [N, H, W]: the strongest map
    (counted from 1, left to right and top to bottom as the mosaic shows them), its peak and
    where it lies, the layer's mean activation and how many maps stay silent. No table: a
    layer holds up to 6 maps of 28x28."""
    maps = np.asarray(maps, dtype=float)
    count, height, width = maps.shape
    size = ltr(f"{height}×{width}")
    peaks = maps.reshape(count, -1).max(axis=1)
    silent = int((np.abs(maps).reshape(count, -1).max(axis=1) == 0).sum())
    if silent == count:
        return _("{name}: all {count} maps of {size} are zero; nothing reaches this layer.").format(
            name=name, count=count, size=size
        )
    strongest = int(np.argmax(peaks))
    row, column = np.unravel_index(int(np.argmax(maps[strongest])), (height, width))
    text = _(
        "{name}: {count} maps of {size}. The strongest, map {strongest}, peaks at {peak:.2f}"
        " ({region}); the mean activation is {mean:.2f}."
    ).format(
        name=name,
        count=count,
        size=size,
        strongest=strongest + 1,
        peak=float(peaks[strongest]),
        region=map_region(row, column, height, width),
        mean=float(maps.mean()),
    )
    if silent:
        text += " " + _("{silent} of {count} maps are silent (all zero).").format(
            silent=silent, count=count
        )
    return text


def architecture_figure(rows: list) -> go.Figure:
    """LeNet-5 as a row of blocks: height follows the spatial size, labels give the shapes."""
    figure = go.Figure()
    x = 0.0
    biggest = max(row.output_shape[1] if len(row.output_shape) == 3 else 1 for row in rows)
    for row in [None, *rows]:
        if row is None:
            name, shape, size, colour = _("input"), (1, 32, 32), 32, GREY
        else:
            name, shape = row.name, row.output_shape
            size = shape[1] if len(shape) == 3 else 1
            colour = BLUE if name.startswith("C") else ORANGE if name.startswith("S") else GREY
        height = 0.15 + 0.85 * (size / max(biggest, 32)) if len(shape) == 3 else 0.6
        width = 0.55
        figure.add_shape(
            type="rect",
            x0=x,
            x1=x + width,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=colour,
            opacity=0.75,
            line=dict(color="white"),
        )
        label = "×".join(str(v) for v in shape) if len(shape) == 3 else f"{shape[0]}"
        figure.add_annotation(
            x=x + width / 2,
            y=-0.62,
            text=f"<b>{_(name) if name == 'out' else name}</b><br>{ltr(label)}",
            showarrow=False,
            font=dict(size=11),
        )
        x += width + 0.35
    figure.update_xaxes(visible=False, range=[-0.2, x])
    figure.update_yaxes(visible=False, range=[-0.85, 0.6])
    figure.update_layout(height=190, margin=dict(l=0, r=0, t=0, b=0), plot_bgcolor="white")
    return figure


def architecture_text(rows: list) -> str:
    """The block diagram in words: each layer's output shape, from the input to the output."""
    steps = [_("input {shape}").format(shape=ltr("1×32×32"))]
    for row in rows:
        name = _(row.name) if row.name == "out" else row.name
        steps.append(f"{name} {ltr('×'.join(str(v) for v in row.output_shape))}")
    maps = [row for row in rows if len(row.output_shape) == 3]
    text = _("The image passes through {count} layers: {steps}.").format(
        count=len(rows), steps=", ".join(steps)
    )
    if maps:
        text += " " + _(
            "The maps shrink from {first} to {last} while their number grows from 1 to {channels}."
        ).format(
            first=ltr("32×32"),
            last=ltr(f"{maps[-1].output_shape[1]}×{maps[-1].output_shape[2]}"),
            channels=max(row.output_shape[0] for row in maps),
        )
    return text


LR_POINTS = 200  # samples of a schedule per run: smooth at any width, cheap to send


def _schedule(config) -> tuple[list[int], list[float]]:
    """LR_POINTS steps spread over the run, first and last included, and the rate at each
    (core/training/steps.py learning_rate): what the figure draws and its summary reads."""
    from core.training.steps import learning_rate

    total = config.epochs * config.batches_per_epoch
    steps = sorted({round(i * (total - 1) / (LR_POINTS - 1)) for i in range(LR_POINTS)})
    return steps, [learning_rate(config, step) for step in steps]


def learning_rate_figure(runs: list[tuple[str, object]]) -> go.Figure:
    """The learning rate against epochs of each (label, TrainConfig), drawn under the loss
    curves when a run changes its rate (core/training/steps.py learning_rate)."""
    figure = go.Figure()
    for label, config in runs:
        steps, rates = _schedule(config)
        figure.add_scatter(
            x=[(step + 1) / config.batches_per_epoch for step in steps],
            y=rates,
            mode="lines",
            name=label,
            hovertemplate=_("epoch %{x:.2f}: lr %{y:.4g}") + "<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(
        height=200,
        margin=dict(l=60, r=20, t=36, b=40),
        title=dict(text=_("Learning rate"), x=0.5, font=dict(size=14)),
        xaxis=dict(title=_("epoch"), rangemode="tozero"),
        yaxis=dict(title="lr", rangemode="tozero"),
        showlegend=len(runs) > 1,
    )
    return figure


def curves_against_seconds_figure(curves: list[tuple[str, list[dict]]]) -> go.Figure:
    """Epoch train loss and validation error of each (label, metrics records) against the
    seconds of training so far (the sum of its epochs' own times): which run gets there
    first, not only in fewer epochs."""
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=1, cols=2, subplot_titles=(_("Train loss (per epoch)"), _("Validation error"))
    )
    for index, (label, records) in enumerate(curves):
        epochs = [r for r in records if r.get("kind") == "epoch"]
        seconds, total = [], 0.0
        for record in epochs:
            total += float(record.get("seconds") or 0.0)
            seconds.append(total)
        colour = PALETTE[index % len(PALETTE)]
        for column, name in ((1, "train_loss"), (2, "val_error")):
            figure.add_scatter(
                x=seconds,
                y=[r[name] for r in epochs],
                mode="lines+markers",
                name=label,
                legendgroup=label,
                showlegend=column == 1,
                line=dict(color=colour),
                row=1,
                col=column,
                hovertemplate="%{x:.1f} s: %{y:.4f}<extra>" + label + "</extra>",
            )
    figure.update_xaxes(title_text=_("seconds of training"), rangemode="tozero")
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_yaxes(tickformat=".1%", rangemode="tozero", row=1, col=2)
    figure.update_layout(height=340, margin=dict(l=60, r=20, t=40, b=50))
    return figure


# Text equivalents (dashboard/described.py): what each figure shows, in a sentence with its
# numbers, and the numbers behind it as a table.


def training_curves_text(curves: list[tuple[str, int, list[dict]]]) -> tuple[str, pd.DataFrame]:
    """The summary and the per-epoch table of `training_curves_figure`'s curves."""
    sentences, rows = [], []
    for label, _per_epoch, records in curves:
        losses = [
            r["loss"] for r in records if r.get("kind") == "batch" and _is_finite(r.get("loss"))
        ]
        epochs = [r for r in records if r.get("kind") == "epoch"]
        best = epochs[-1].get("best_epoch") if epochs else None
        best_rows = [r for r in epochs if r["epoch"] == best and _is_finite(r.get("val_error"))]
        if not losses:
            sentences.append(_("{run}: no batches logged yet.").format(run=ltr(label)))
        elif best_rows:
            sentences.append(
                _(
                    "{run}: the batch loss goes from {first:.2f} to {last:.3f} by the end of"
                    " epoch {epochs}; best validation epoch {best} (validation error {error:.2%})."
                ).format(
                    run=ltr(label),
                    first=losses[0],
                    last=losses[-1],
                    epochs=len(epochs),
                    best=best,
                    error=best_rows[0]["val_error"],
                )
            )
        else:
            sentences.append(
                _(
                    "{run}: the batch loss goes from {first:.2f} to {last:.3f}; no epoch"
                    " finished yet."
                ).format(run=ltr(label), first=losses[0], last=losses[-1])
            )
        for r in epochs:
            rows.append(
                {
                    _("run"): label,
                    _("epoch"): r["epoch"],
                    _("train loss"): _rounded(r.get("train_loss")),
                    _("validation loss"): _rounded(r.get("val_loss")),
                    _("validation error"): _rounded(r.get("val_error")),
                }
            )
    return " ".join(sentences), pd.DataFrame(rows)


def learning_rate_text(runs: list[tuple[str, object]]) -> str:
    """The summary of `learning_rate_figure`: each run's schedule and its rate's range."""
    parts = []
    for label, config in runs:
        _steps, rates = _schedule(config)
        parts.append(
            _("{run}: {schedule} schedule, the rate between {low:.3g} and {high:.3g}.").format(
                run=ltr(label), schedule=ltr(config.schedule), low=min(rates), high=max(rates)
            )
        )
    return " ".join(parts)


def curves_against_seconds_text(curves: list[tuple[str, list[dict]]]) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `curves_against_seconds_figure`."""
    sentences, rows = [], []
    for label, records in curves:
        total = 0.0
        epochs = [r for r in records if r.get("kind") == "epoch"]
        for r in epochs:
            total += float(r.get("seconds") or 0.0)
            rows.append(
                {
                    _("run"): label,
                    _("epoch"): r["epoch"],
                    _("seconds of training"): round(total, 1),
                    _("train loss"): _rounded(r.get("train_loss")),
                    _("validation error"): _rounded(r.get("val_error")),
                }
            )
        if epochs:
            sentences.append(
                _(
                    "{run}: {seconds:.1f} s of training to the end of epoch {epochs}, validation"
                    " error {error:.2%} there."
                ).format(
                    run=ltr(label),
                    epochs=len(epochs),
                    seconds=total,
                    error=float(epochs[-1].get("val_error") or 0.0),
                )
            )
    return " ".join(sentences), pd.DataFrame(rows)


def _rounded(value: object, digits: int = 4) -> float | None:
    return round(float(value), digits) if _is_finite(value) else None
