"""Figures of the "Why it errs" page: attribution maps, deletion curves, FGSM and
transformation curves, and the F6 map of the test digits. Plain functions returning figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.i18n import _, ltr
from dashboard.charts import BLUE, GREY, ORANGE, PALETTE, map_region

DIGIT_COLOURS = qualitative.T10  # ten distinguishable colours, one per true digit
# A second cue beside the colour (WCAG 1.4.1): one marker symbol a digit, one a method.
DIGIT_SYMBOLS = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "x",
    "cross",
    "star",
    "triangle-down",
    "pentagon",
    "hexagon",
)
METHOD_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")
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
        rows=1,
        cols=len(maps),
        subplot_titles=[two_lines(_(title)) for title in maps],
        horizontal_spacing=0.03,
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
    figure.update_layout(height=280, margin=dict(l=0, r=0, t=50, b=0), plot_bgcolor="white")
    return figure


def two_lines(title: str, longest: int = 16) -> str:
    """`title` broken at the space nearest its middle when it is longer than `longest`
    characters: four maps side by side at 200% zoom leave each title about 170 px, and the
    Hebrew ones ("הסתר (occlusion, הירידה ב-p)") ran into each other."""
    spaces = [i for i, c in enumerate(title) if c == " "]
    if len(title) <= longest or not spaces:
        return title
    cut = min(spaces, key=lambda i: abs(i - len(title) / 2))
    return f"{title[:cut]}<br>{title[cut + 1 :]}"


def method_name(title: str) -> str:
    """A map's title (English) cut to the method's short name: "Occlusion (drop in p)" ->
    "Occlusion"."""
    return title.split(" (")[0].split(" |")[0]


def attribution_maps_text(maps: dict[str, tuple[np.ndarray, bool]], image: np.ndarray) -> str:
    """The summary of `attribution_maps_figure`: each map's strongest pixel for the class
    (row and column from 0, as the hover says, and which third of the picture) and the share
    of its weight (absolute values) that lies on the digit's ink."""
    ink = np.asarray(image) >= 0.5
    parts = []
    for title, (values, _signed) in maps.items():
        values = np.asarray(values, dtype=float)
        name = _(method_name(title))
        if not values.size or values.max() <= 0:
            parts.append(_("{name}: no pixel for the class").format(name=name))
            continue
        row, column = np.unravel_index(int(np.argmax(values)), values.shape)
        weight = np.abs(values)
        share = float(weight[ink].sum() / weight.sum()) if weight.sum() > 0 else 0.0
        region = map_region(row, column, *values.shape)
        parts.append(
            _("{name} at row {row}, column {column} ({region}), {share:.0%}").format(
                name=name, row=int(row), column=int(column), region=region, share=share
            )
        )
    return _(
        "Where each map speaks most for the class, and how much of its weight lies on the"
        " digit's ink: {parts}."
    ).format(parts="; ".join(parts))


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

    # Each method its own colour and marker symbol; its line dotted when it explains nothing.
    for colour, symbol, (name, curve) in zip(PALETTE, METHOD_SYMBOLS, curves.items(), strict=False):
        verdict = "" if explains[name] else _(" (no better than random)")
        figure.add_trace(
            go.Scatter(
                x=percent,
                y=curve,
                name=_(name) + verdict,
                mode="lines+markers",
                line=dict(color=colour, width=2, dash="solid" if explains[name] else "dot"),
                marker=dict(symbol=symbol, size=8),
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


def deletion_curves_text(
    fractions: tuple[float, ...],
    curves: dict[str, np.ndarray],
    random: np.ndarray,
    target: int,
) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `deletion_curves_figure`: the target's probability before
    any deletion and after the last step, per method and for random pixels."""
    last = len(fractions) - 1
    parts = "; ".join(
        _("{name} {value:.2f}").format(name=_(name), value=float(curve[last]))
        for name, curve in curves.items()
    )
    summary = _(
        "The probability of {target} is {start:.2f} with every pixel kept. After deleting the"
        " top {percent:.0f}% of the pixels: {parts}; random pixels {random:.2f}."
    ).format(
        target=target,
        start=float(random[0]),
        percent=100 * fractions[last],
        parts=parts,
        random=float(random[last]),
    )
    columns: dict[str, list] = {_("pixels deleted (%)"): [round(100 * f) for f in fractions]}
    for name, curve in curves.items():
        columns[_(name)] = [round(float(v), 4) for v in curve]
    columns[_("random pixels")] = [round(float(v), 4) for v in random]
    return summary, pd.DataFrame(columns)


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


def fgsm_accuracy_text(epsilons: np.ndarray, accuracy: np.ndarray) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `fgsm_accuracy_figure`."""
    epsilons = [float(e) for e in epsilons]
    accuracy = [float(a) for a in accuracy]
    summary = _(
        "Test accuracy under FGSM: {first:.1%} at ε = {low:g}, {last:.1%} at ε = {high:g}."
    ).format(first=accuracy[0], low=epsilons[0], last=accuracy[-1], high=epsilons[-1])
    below = [e for e, a in zip(epsilons, accuracy, strict=True) if a < 0.5]
    if below:
        summary += " " + _("Below half right from ε = {epsilon:g} on.").format(epsilon=below[0])
    table = pd.DataFrame(
        {
            _("epsilon"): epsilons,
            _("test accuracy"): [round(a, 4) for a in accuracy],
        }
    )
    return summary, table


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


def flipped_examples_text(before: list[int], after: list[int], epsilon: float) -> str:
    """The summary of `flipped_examples_figure`: each shown digit's answer before and after."""
    pairs = ", ".join(ltr(f"{b} → {a}") for b, a in zip(before, after, strict=True))
    return _(
        "The answers of the digits shown, before → after FGSM at ε = {epsilon:g}: {pairs}."
    ).format(epsilon=epsilon, pairs=pairs)


IDENTITY = {"px": 0.0, "°": 0.0, "×": 1.0}  # the untouched digit's amount, by unit


def transformation_figure(curves: list, shown: list[int]) -> go.Figure:
    """One panel per transformation: the probability of each digit in `shown` against the
    amount of shift, rotation or scale; the untouched digit marked by a vertical line."""
    figure = make_subplots(
        rows=1,
        cols=len(curves),
        subplot_titles=[_(curve.name) for curve in curves],
        horizontal_spacing=0.06,
    )
    at = _("digit {digit}: {y} at {x}")
    for column, curve in enumerate(curves, start=1):
        for digit in shown:
            figure.add_trace(
                go.Scatter(
                    x=list(curve.values),
                    y=curve.probabilities[:, digit],
                    mode="lines+markers",
                    name=str(digit),
                    legendgroup=str(digit),
                    showlegend=column == 1,
                    line=dict(color=DIGIT_COLOURS[digit], width=2),
                    marker=dict(symbol=DIGIT_SYMBOLS[digit], size=6),
                    hovertemplate=at.format(digit=digit, y="%{y:.1%}", x="%{x}" + curve.unit)
                    + "<extra></extra>",
                ),
                row=1,
                col=column,
            )
        figure.add_vline(
            x=IDENTITY[curve.unit], line=dict(color=GREY, dash="dot", width=1), row=1, col=column
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


def transformation_text(curves: list, shown: list[int]) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `transformation_figure`: the untouched digit's answer
    and, per transformation, the range of amounts over which the answer stays the same."""
    if not curves:
        return "", pd.DataFrame()
    first = curves[0]
    middle = int(np.argmin(np.abs(np.asarray(first.values, float) - IDENTITY[first.unit])))
    answer = int(np.argmax(first.probabilities[middle]))
    parts = []
    for curve in curves:
        answers = curve.probabilities.argmax(axis=1)
        unit = " px" if curve.unit == "px" else curve.unit
        at = int(np.argmin(np.abs(np.asarray(curve.values, float) - IDENTITY[curve.unit])))
        low = high = at
        while low > 0 and answers[low - 1] == answer:
            low -= 1
        while high < len(answers) - 1 and answers[high + 1] == answer:
            high += 1
        parts.append(
            _("{name} from {low} to {high}").format(
                name=_(curve.name),
                low=ltr(f"{curve.values[low]:g}{unit}"),
                high=ltr(f"{curve.values[high]:g}{unit}"),
            )
        )
    summary = _(
        "Untouched, the answer is {answer} ({p:.0%}). It stays {answer} for {parts}."
    ).format(answer=answer, p=float(first.probabilities[middle, answer]), parts="; ".join(parts))
    rows = []
    for curve in curves:
        for value, probabilities in zip(curve.values, curve.probabilities, strict=True):
            row = {
                _("transformation"): _(curve.name),
                _("amount"): value,
                _("unit"): curve.unit,
                _("answer"): int(np.argmax(probabilities)),
            }
            for digit in shown:
                row[_("probability of {digit}").format(digit=digit)] = round(
                    float(probabilities[digit]), 4
                )
            rows.append(row)
    return summary, pd.DataFrame(rows)


def shift_accuracy_figure(
    shifts: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray
) -> go.Figure:
    figure = go.Figure()
    at = _("{name} {x} px: {y}")
    # Told apart by colour, line dash and marker symbol.
    for values, name, colour, dash, symbol in (
        (horizontal, _("left-right"), BLUE, "solid", "circle"),
        (vertical, _("up-down"), ORANGE, "dash", "square"),
    ):
        figure.add_trace(
            go.Scatter(
                x=shifts,
                y=values,
                name=name,
                mode="lines+markers",
                line=dict(color=colour, width=2, dash=dash),
                marker=dict(symbol=symbol, size=7),
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


def shift_accuracy_text(
    shifts: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray
) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `shift_accuracy_figure`: the accuracy in place and the
    lowest of each direction, with its shift."""
    shifts = [int(s) for s in shifts]
    horizontal = [float(a) for a in horizontal]
    vertical = [float(a) for a in vertical]
    centre = int(np.argmin(np.abs(shifts)))
    h, v = int(np.argmin(horizontal)), int(np.argmin(vertical))
    summary = _(
        "Test accuracy is {centre:.1%} in place. Shifted left-right it falls to {h:.1%} (at"
        " {h_at} px), up-down to {v:.1%} (at {v_at} px)."
    ).format(
        centre=horizontal[centre],
        h=horizontal[h],
        h_at=ltr(f"{shifts[h]:+d}"),
        v=vertical[v],
        v_at=ltr(f"{shifts[v]:+d}"),
    )
    table = pd.DataFrame(
        {
            _("shift (pixels)"): shifts,
            _("accuracy, left-right"): [round(a, 4) for a in horizontal],
            _("accuracy, up-down"): [round(a, 4) for a in vertical],
        }
    )
    return summary, table


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
    # Each digit's name at the centre of its group: the colour is not the only cue.
    centres = digit_centres(points, labels, predictions)
    figure.add_trace(
        go.Scatter(
            x=[centre[0] for centre in centres.values()],
            y=[centre[1] for centre in centres.values()],
            mode="text",
            text=[str(digit) for digit in centres],
            textfont=dict(size=18, color="black", weight="bold", shadow="auto"),
            showlegend=False,
            hoverinfo="skip",
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


def digit_centres(
    points: np.ndarray, labels: np.ndarray, predictions: np.ndarray
) -> dict[int, tuple[float, float]]:
    """The median point of each digit's correctly classified test digits (of all of them
    where none is right)."""
    centres = {}
    for digit in range(10):
        members = (labels == digit) & (predictions == labels)
        if not members.any():
            members = labels == digit
        if members.any():
            x, y = np.median(points[members], axis=0)
            centres[digit] = (float(x), float(y))
    return centres


def embedding_text(
    points: np.ndarray, labels: np.ndarray, predictions: np.ndarray, method: str = "PCA"
) -> tuple[str, pd.DataFrame]:
    """The summary and the table of `embedding_figure`: how well the digits group around
    their centres, and how many mistakes sit nearer the centre of the digit they were taken
    for than of their own."""
    points = np.asarray(points, dtype=float)
    centres = digit_centres(points, labels, predictions)
    digits = list(centres)
    grid = np.array([centres[d] for d in digits])
    nearest = np.array(digits)[
        np.argmin(((points[:, None, :] - grid[None]) ** 2).sum(axis=2), axis=1)
    ]
    wrong = predictions != labels
    own = float(np.mean(nearest == labels)) if len(labels) else 0.0
    summary = _(
        "{total:,} test digits laid out by {method}: {own:.0%} lie nearer the centre of their"
        " own digit than of any other."
    ).format(total=len(labels), method=ltr(method), own=own)
    if wrong.any():
        summary += " " + _(
            "Misclassified (×): {wrong:,}, {closer:,} of them nearer the centre of the digit"
            " they were taken for."
        ).format(wrong=int(wrong.sum()), closer=int(np.sum(nearest[wrong] == predictions[wrong])))
    table = pd.DataFrame(
        {
            _("true digit"): digits,
            _("test digits"): [int(np.sum(labels == d)) for d in digits],
            _("misclassified"): [int(np.sum(wrong & (labels == d))) for d in digits],
            _("centre x"): [round(centres[d][0], 2) for d in digits],
            _("centre y"): [round(centres[d][1], 2) for d in digits],
        }
    )
    return summary, table
