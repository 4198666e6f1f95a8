"""Plotly figure builders. Plain functions that return a figure, so tests can inspect them."""

from __future__ import annotations

import numpy as np
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


PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"]


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
CORRECT_GREEN = "#bbf7d0"
ERROR_REDS = get_colorscale("Reds")
DARK_TEXT = "#0f172a"  # the theme's text colour


def _luminance(colour: str) -> float:
    """WCAG relative luminance of '#rrggbb' or 'rgb(r, g, b)'."""
    if colour.startswith("#"):
        channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [float(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    linear = [
        c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
        for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrasting_text_colour(background: str) -> str:
    """White or the dark text colour, whichever contrasts more with `background`.

    White gets a small edge: WCAG's contrast ratio underrates white on saturated mid reds,
    where dark digits look muddy (and the ratios of the two are about equal there)."""
    lum = _luminance(background)
    on_white = 1.05 / (lum + 0.05)
    on_dark = (lum + 0.05) / (_luminance(DARK_TEXT) + 0.05)
    return "white" if on_white >= 0.8 * on_dark else DARK_TEXT


def confusion_matrix_figure(
    confusion: np.ndarray, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Counts of (true, predicted) pairs, written in the cells; the diagonal (correct) green,
    the errors red on a log scale so that a handful shows next to thousands. One faint marker
    per cell (trace CONFUSION_CLICK_TRACE) makes every cell clickable in Streamlit."""
    digits = list(range(confusion.shape[0]))
    diagonal = np.eye(len(digits), dtype=bool)
    errors = np.where(diagonal, np.nan, np.log10(confusion + 1.0))
    highest = float(np.nanmax(errors)) if np.isfinite(errors).any() else 1.0
    grid_true, grid_pred = np.meshgrid(digits, digits, indexing="ij")
    figure = go.Figure()
    zmax = max(highest, 0.5)
    # Each count in the colour that reads on its own cell: white on dark red, dark elsewhere.
    backgrounds = np.where(
        diagonal,
        CORRECT_GREEN,
        np.reshape(
            sample_colorscale(ERROR_REDS, np.clip(np.nan_to_num(errors) / zmax, 0, 1).ravel()),
            errors.shape,
        ),
    )
    figure.add_heatmap(
        z=np.where(diagonal, 1.0, np.nan),
        x=digits,
        y=digits,
        colorscale=[[0, CORRECT_GREEN], [1, CORRECT_GREEN]],
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


def probability_bars_figure(probabilities: np.ndarray, true: int | None = None) -> go.Figure:
    """The model's probability for each digit; the prediction in blue, the truth outlined."""
    predicted = int(np.argmax(probabilities))
    colours = [BLUE if d == predicted else "#cbd5e1" for d in range(len(probabilities))]
    figure = go.Figure(
        go.Bar(
            x=list(range(len(probabilities))),
            y=probabilities,
            marker_color=colours,
            marker_line=dict(
                color=[
                    "#16a34a" if d == true else "rgba(0,0,0,0)" for d in range(len(probabilities))
                ],
                width=3,
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
            text=_("Probabilities (green outline: the true digit)")
            if true is not None
            else _("Probabilities"),
            font=dict(size=14),
        ),
    )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.1], tickformat=".0%", gridcolor="#e2e8f0")
    return figure


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


LR_POINTS = 200  # samples of a schedule per run: smooth at any width, cheap to send


def learning_rate_figure(runs: list[tuple[str, object]]) -> go.Figure:
    """The learning rate against epochs of each (label, TrainConfig), drawn under the loss
    curves when a run changes its rate (core/training/steps.py learning_rate)."""
    from core.training.steps import learning_rate

    figure = go.Figure()
    for label, config in runs:
        total = config.epochs * config.batches_per_epoch
        steps = sorted({round(i * (total - 1) / (LR_POINTS - 1)) for i in range(LR_POINTS)})
        figure.add_scatter(
            x=[(step + 1) / config.batches_per_epoch for step in steps],
            y=[learning_rate(config, step) for step in steps],
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
