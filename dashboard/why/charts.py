"""Figures of the "Why it errs" page: attribution maps, deletion curves, FGSM and
transformation curves, and the F6 map of the test digits. Plain functions returning figures."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.i18n import _
from dashboard.charts import BLUE, GREY, ORANGE, PALETTE

DIGIT_COLOURS = qualitative.T10  # ten distinguishable colours, one per true digit
GRID = "#e2e8f0"
# Signed maps (red: speaks against the class, blue: for it) centre their colours on zero.
SIGNED = "RdBu"
UNSIGNED = "Viridis"


def _digit_outline(image: np.ndarray, show: bool) -> go.Contour:
    """The digit's outline (where its ink reaches half brightness), drawn over a map."""
    return go.Contour(
        z=image,
        contours=dict(start=0.5, end=0.5, size=1, coloring="none"),
        line=dict(color="black", width=1.2),
        showscale=False,
        showlegend=False,
        hoverinfo="skip",
        visible=show,
    )


def attribution_maps_figure(
    maps: dict[str, tuple[np.ndarray, bool]], image: np.ndarray, outline: bool = True
) -> go.Figure:
    """One heatmap per method in a row, each with the digit's outline on top.

    `maps`: title (English, shown translated) -> (28x28 map, signed?). Signed maps share zero
    as their middle colour."""
    figure = make_subplots(
        rows=1, cols=len(maps), subplot_titles=[_(title) for title in maps], horizontal_spacing=0.03
    )
    hover = _("row %{y}, column %{x}: %{z:.4f}") + "<extra></extra>"
    for column, (_title, (values, signed)) in enumerate(maps.items(), start=1):
        limit = float(np.abs(values).max()) or 1.0
        figure.add_trace(
            go.Heatmap(
                z=values,
                colorscale=SIGNED if signed else UNSIGNED,
                zmin=-limit if signed else 0.0,
                zmax=limit,
                showscale=False,
                hovertemplate=hover,
            ),
            row=1,
            col=column,
        )
        figure.add_trace(_digit_outline(image, outline), row=1, col=column)
        axis = "" if column == 1 else str(column)
        figure.update_layout(
            {
                f"xaxis{axis}": dict(visible=False, constrain="domain"),
                f"yaxis{axis}": dict(
                    visible=False,
                    autorange="reversed",
                    scaleanchor=f"x{axis}",
                    constrain="domain",
                ),
            }
        )
    figure.update_annotations(font_size=13)
    figure.update_layout(height=260, margin=dict(l=0, r=0, t=30, b=0), plot_bgcolor="white")
    return figure


def deletion_curves_figure(
    fractions: tuple[float, ...],
    curves: dict[str, np.ndarray],
    random: np.ndarray,
    explains: dict[str, bool],
    target: int,
) -> go.Figure:
    """The target's probability as the top-ranked pixels are deleted, per method, and the
    random-deletion baseline (dashed). The methods' names (English) are shown translated."""
    percent = [100 * f for f in fractions]
    figure = go.Figure()
    deleted = _("{name}: {x}% deleted, p = {y}")

    def hover(name: str) -> str:
        return deleted.format(name=name, x="%{x:.0f}", y="%{y:.3f}") + "<extra></extra>"

    for colour, (name, curve) in zip(PALETTE, curves.items(), strict=False):
        verdict = "" if explains[name] else _(" (no better than random)")
        figure.add_trace(
            go.Scatter(
                x=percent,
                y=curve,
                name=_(name) + verdict,
                mode="lines+markers",
                line=dict(color=colour, width=2, dash="solid" if explains[name] else "dot"),
                hovertemplate=hover(_(name)),
            )
        )
    figure.add_trace(
        go.Scatter(
            x=percent,
            y=random,
            name=_("random pixels"),
            mode="lines",
            line=dict(color=GREY, width=2, dash="dash"),
            hovertemplate=hover(_("random")),
        )
    )
    figure.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        title=dict(
            text=_("Probability of {target} as the top pixels are deleted").format(target=target),
            font=dict(size=14),
        ),
        # Below the axis, which carries no title (its ticks say "% deleted"): a legend at
        # y=-0.2 sat on the axis title in a 1000 px window.
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
    )
    figure.update_xaxes(gridcolor=GRID, ticksuffix="%")
    figure.update_yaxes(range=[-0.03, 1.05], gridcolor=GRID, title_text=_("probability"))
    return figure


def fgsm_accuracy_figure(epsilons: np.ndarray, accuracy: np.ndarray) -> go.Figure:
    figure = go.Figure(
        go.Scatter(
            x=epsilons,
            y=accuracy,
            mode="lines+markers+text",
            line=dict(color=ORANGE, width=2),
            text=[f"{a:.1%}" for a in accuracy],
            textposition="top right",
            cliponaxis=False,
            hovertemplate=_("epsilon %{x:.2f}: %{y:.2%} right") + "<extra></extra>",
        )
    )
    figure.update_layout(
        height=300,
        margin=dict(l=10, r=40, t=30, b=10),
        plot_bgcolor="white",
        title=dict(text=_("Test accuracy under FGSM"), font=dict(size=14)),
    )
    figure.update_xaxes(title_text=_("epsilon (largest change of a pixel)"), gridcolor=GRID)
    figure.update_yaxes(range=[0, 1.08], tickformat=".0%", gridcolor=GRID)
    return figure


def flipped_examples_figure(
    originals: np.ndarray,
    perturbations: np.ndarray,
    results: np.ndarray,
    before: list[int],
    after: list[int],
    epsilon: float,
) -> go.Figure:
    """Columns of flipped digits: the original, the perturbation (epsilon * sign, red and
    blue), the perturbed digit; each column titled with both predictions."""
    count = len(originals)
    titles = [f"{b} → {a}" for b, a in zip(before, after, strict=True)]
    figure = make_subplots(
        rows=3,
        cols=count,
        subplot_titles=titles + [""] * (2 * count),
        horizontal_spacing=0.02,
        vertical_spacing=0.04,
    )
    rows = (
        (originals, "gray_r", 0.0, 1.0),
        (perturbations, SIGNED, -epsilon or -1.0, epsilon or 1.0),
        (results, "gray_r", 0.0, 1.0),
    )
    for r, (images, colours, low, high) in enumerate(rows, start=1):
        for c in range(count):
            figure.add_trace(
                go.Heatmap(
                    z=images[c],
                    colorscale=colours,
                    zmin=low,
                    zmax=high,
                    showscale=False,
                    hovertemplate="%{z:.2f}<extra></extra>",
                ),
                row=r,
                col=c + 1,
            )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for index in range(1, 3 * count + 1):
        axis = "" if index == 1 else str(index)
        figure.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"
    figure.update_annotations(font_size=13)
    figure.update_layout(height=380, margin=dict(l=0, r=0, t=30, b=0), plot_bgcolor="white")
    return figure


def transformation_figure(curves: list, shown: list[int]) -> go.Figure:
    """One panel per transformation: the probability of each digit in `shown` against the
    amount of shift, rotation or scale; the untouched digit marked by a vertical line."""
    figure = make_subplots(
        rows=1,
        cols=len(curves),
        subplot_titles=[_(curve.name) for curve in curves],
        horizontal_spacing=0.06,
    )
    identity = {"px": 0, "°": 0, "×": 1}
    at = _("digit {digit}: {y} at {x}")
    for column, curve in enumerate(curves, start=1):
        for digit in shown:
            figure.add_trace(
                go.Scatter(
                    x=list(curve.values),
                    y=curve.probabilities[:, digit],
                    mode="lines",
                    name=str(digit),
                    legendgroup=str(digit),
                    showlegend=column == 1,
                    line=dict(color=DIGIT_COLOURS[digit], width=2),
                    hovertemplate=at.format(digit=digit, y="%{y:.1%}", x="%{x}" + curve.unit)
                    + "<extra></extra>",
                ),
                row=1,
                col=column,
            )
        figure.add_vline(
            x=identity[curve.unit], line=dict(color=GREY, dash="dot", width=1), row=1, col=column
        )
        figure.update_xaxes(ticksuffix=curve.unit, gridcolor=GRID, row=1, col=column)
    figure.update_yaxes(range=[-0.03, 1.05], tickformat=".0%", gridcolor=GRID)
    figure.update_annotations(font_size=13)
    figure.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        legend=dict(title=_("digit"), orientation="h", yanchor="top", y=-0.15, x=0),
    )
    return figure


def shift_accuracy_figure(
    shifts: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray
) -> go.Figure:
    figure = go.Figure()
    at = _("{name} {x} px: {y}")
    for values, name, colour in (
        (horizontal, _("left-right"), BLUE),
        (vertical, _("up-down"), ORANGE),
    ):
        figure.add_trace(
            go.Scatter(
                x=shifts,
                y=values,
                name=name,
                mode="lines+markers",
                line=dict(color=colour, width=2),
                hovertemplate=at.format(name=name, x="%{x}", y="%{y:.2%}") + "<extra></extra>",
            )
        )
    figure.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        title=dict(text=_("Test accuracy with every digit shifted"), font=dict(size=14)),
        legend=dict(orientation="h", yanchor="bottom", y=0.02, x=0.35),
    )
    figure.update_xaxes(title_text=_("shift (pixels)"), dtick=1, gridcolor=GRID)
    figure.update_yaxes(range=[0, 1.05], tickformat=".0%", gridcolor=GRID)
    return figure


BRAILLE_BASE = 0x2800
# Dot bits of a braille cell by (row, column) within its 4x2 block (Unicode's numbering).
BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def braille(image: np.ndarray, threshold: float = 0.35) -> str:
    """A 28x28 digit as 7 lines of 14 braille characters (one dot a pixel, ink above
    `threshold`): a picture that fits in a plotly hover label, about 100 characters."""
    ink = np.asarray(image, dtype=np.float32) > threshold
    height, width = ink.shape
    lines = []
    for top in range(0, height, 4):
        cells = []
        for left in range(0, width, 2):
            code = 0
            for r in range(4):
                for c in range(2):
                    if top + r < height and left + c < width and ink[top + r, left + c]:
                        code |= BRAILLE_BITS[r][c]
            cells.append(chr(BRAILLE_BASE + code))
        lines.append("".join(cells))
    return "<br>".join(lines)


def embedding_figure(
    points: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    pictures: list[str],
    selected: int | None = None,
    method: str = "PCA",
) -> go.Figure:
    """The test digits in 2D, coloured by true digit; misclassified ones as black-edged
    crosses on top. Hover: index, true and predicted digit, and the digit itself in braille.

    Each point's customdata is its test index (read back from a click)."""
    wrong = predictions != labels
    figure = go.Figure()
    hover = "#%{customdata}: %{text}<br>%{hovertext}<extra></extra>"
    pair = _("true {label}, predicted {predicted}")

    def described(members: np.ndarray) -> list[str]:
        return [
            pair.format(label=labels[i], predicted=predictions[i]) + (" ✗" if wrong[i] else "")
            for i in members
        ]

    for digit in range(10):
        members = np.flatnonzero((labels == digit) & ~wrong)
        figure.add_trace(
            go.Scattergl(
                x=points[members, 0],
                y=points[members, 1],
                mode="markers",
                name=str(digit),
                marker=dict(color=DIGIT_COLOURS[digit], size=4, opacity=0.6),
                customdata=members,
                text=described(members),
                hovertext=[pictures[i] for i in members],
                hovertemplate=hover,
            )
        )
    mistakes = np.flatnonzero(wrong)
    figure.add_trace(
        go.Scattergl(
            x=points[mistakes, 0],
            y=points[mistakes, 1],
            mode="markers",
            name=_("misclassified"),
            marker=dict(
                symbol="x",
                size=8,
                color=[DIGIT_COLOURS[d] for d in labels[mistakes]],
                line=dict(color="black", width=1),
            ),
            customdata=mistakes,
            text=described(mistakes),
            hovertext=[pictures[i] for i in mistakes],
            hovertemplate=hover,
        )
    )
    if selected is not None:
        figure.add_trace(
            go.Scattergl(
                x=[points[selected, 0]],
                y=[points[selected, 1]],
                mode="markers",
                name=f"#{selected}",
                marker=dict(symbol="circle-open", size=18, color="black", line=dict(width=2)),
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        height=560,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        title=dict(
            text=_("The 10,000 test digits by their F6 features ({method})").format(method=method),
            font_size=14,
        ),
        legend=dict(title=_("true digit"), itemsizing="constant"),
        hoverlabel=dict(bgcolor="white", font=dict(family="monospace", size=11)),
        dragmode="pan",
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure
