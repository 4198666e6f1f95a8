"""The text equivalents of the "Why it errs" page's figures (dashboard/why/charts.py), and
their cues beside colour: a marker symbol a method, a dash for the second shift direction,
the digits' names on the F6 map."""

from __future__ import annotations

import numpy as np

from core.analysis.robustness import TransformationCurve
from dashboard.why.charts import (
    attribution_maps_text,
    deletion_curves_figure,
    deletion_curves_text,
    embedding_figure,
    embedding_text,
    fgsm_accuracy_text,
    flipped_examples_text,
    shift_accuracy_figure,
    shift_accuracy_text,
    transformation_figure,
    transformation_text,
)

FRACTIONS = tuple(round(0.05 * k, 2) for k in range(11))


def test_attribution_maps_text_places_each_maps_peak_and_its_share_on_the_ink() -> None:
    image = np.zeros((28, 28))
    image[4:24, 12:16] = 1.0  # a vertical stroke: the ink
    occlusion = np.zeros((28, 28))
    occlusion[6, 14] = 3.0  # on the ink, top third
    occlusion[26, 1] = -1.0  # against the class, off the ink
    saliency = np.zeros((28, 28))
    saliency[14, 25] = 1.0  # off the ink, middle right
    summary = attribution_maps_text(
        {
            "Occlusion (drop in p)": (occlusion, True),
            "Saliency |∂logit/∂x|": (saliency, False),
            "Grad-CAM at C3": (np.zeros((28, 28)), False),
        },
        image,
    )
    assert "Occlusion at row 6, column 14 (top centre), 75%" in summary
    assert "Saliency at row 14, column 25 (middle right), 0%" in summary
    assert "Grad-CAM at C3: no pixel for the class" in summary


def test_deletion_curves_text_gives_start_end_and_random() -> None:
    curves = {"Occlusion": np.linspace(0.9, 0.1, 11), "Saliency": np.linspace(0.9, 0.7, 11)}
    random = np.linspace(0.9, 0.6, 11)
    summary, table = deletion_curves_text(FRACTIONS, curves, random, 4)
    assert summary == (
        "The probability of 4 is 0.90 with every pixel kept. After deleting the top 50% of the"
        " pixels: Occlusion 0.10; Saliency 0.70; random pixels 0.60."
    )
    assert list(table.columns) == ["pixels deleted (%)", "Occlusion", "Saliency", "random pixels"]
    assert table["pixels deleted (%)"].tolist() == list(range(0, 55, 5))
    assert table.loc[5, "Occlusion"] == 0.5


def test_each_deletion_curve_has_its_own_marker_symbol() -> None:
    curves = {name: np.linspace(1, 0, 11) for name in ("Occlusion", "Saliency", "Grad-CAM at C3")}
    explains = dict.fromkeys(curves, True)
    figure = deletion_curves_figure(FRACTIONS, curves, np.linspace(1, 0.5, 11), explains, 3)
    methods = figure.data[:3]
    assert len({trace.marker.symbol for trace in methods}) == 3
    assert figure.data[3].line.dash == "dash"  # random: dashed, no markers


def test_fgsm_accuracy_text() -> None:
    epsilons = np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    accuracy = np.array([0.97, 0.9, 0.7, 0.5, 0.3, 0.2, 0.1])
    summary, table = fgsm_accuracy_text(epsilons, accuracy)
    assert summary == (
        "Test accuracy under FGSM: 97.0% at ε = 0, 10.0% at ε = 0.3."
        " Below half right from ε = 0.2 on."
    )
    assert table["test accuracy"].tolist() == accuracy.tolist()
    assert "Below half" not in fgsm_accuracy_text(epsilons, accuracy * 0 + 0.9)[0]


def test_flipped_examples_text_lists_each_flip() -> None:
    summary = flipped_examples_text([7, 1, 4], [3, 8, 9], 0.2)
    assert summary == (
        "The answers of the digits shown, before → after FGSM at ε = 0.2: 7 → 3, 1 → 8, 4 → 9."
    )


def test_transformation_text_gives_the_range_that_keeps_the_answer() -> None:
    shifts = tuple(range(-6, 7))
    moved = np.zeros((13, 10))
    moved[:, 7] = 0.9
    moved[:3, 1] = 0.95  # -6..-4 px read as 1
    moved[11:, 1] = 0.95  # 5..6 px too
    scales = tuple(round(0.5 + 0.05 * k, 2) for k in range(21))
    curves = [
        TransformationCurve("horizontal shift", "px", shifts, moved),
        TransformationCurve("scale", "×", scales, np.tile(moved[6], (21, 1))),
    ]
    summary, table = transformation_text(curves, [7, 1])
    assert summary == (
        "Untouched, the answer is 7 (90%). It stays 7 for horizontal shift from -3 px to 4 px;"
        " scale from 0.5× to 1.5×."
    )
    assert len(table) == 13 + 21
    assert list(table.columns) == [
        "transformation",
        "amount",
        "unit",
        "answer",
        "probability of 7",
        "probability of 1",
    ]
    assert table.loc[0, "answer"] == 1 and table.loc[0, "probability of 1"] == 0.95
    symbols = {t.marker.symbol for t in transformation_figure(curves, [7, 1]).data}
    assert len(symbols) == 2  # one marker symbol a digit, beside its colour


def test_shift_accuracy_text_and_its_dashed_second_direction() -> None:
    shifts = np.arange(-6, 7)
    horizontal = np.exp(-(shifts**2) / 8.0)
    vertical = 0.9 * horizontal[::-1]
    vertical[-1] = 0.005  # the lowest at +6
    summary, table = shift_accuracy_text(shifts, horizontal, vertical)
    assert summary == (
        "Test accuracy is 100.0% in place. Shifted left-right it falls to 1.1% (at -6 px),"
        " up-down to 0.5% (at +6 px)."
    )
    assert list(table.columns) == ["shift (pixels)", "accuracy, left-right", "accuracy, up-down"]
    assert table.loc[6, "accuracy, left-right"] == 1.0
    dashes = [trace.line.dash for trace in shift_accuracy_figure(shifts, horizontal, vertical).data]
    assert dashes == ["solid", "dash"]


def test_embedding_text_counts_mistakes_near_the_digit_taken_for() -> None:
    # Two tight groups, digits 0 (around x=0) and 1 (around x=10); two 0s sit among the 1s,
    # one read as 1 (a mistake near the digit it was taken for) and one still read as 0.
    rng = np.random.default_rng(0)
    points = np.concatenate(
        [rng.normal(0, 0.1, (20, 2)), rng.normal(0, 0.1, (20, 2)) + [10, 0], [[10, 0], [9.9, 0]]]
    )
    labels = np.array([0] * 20 + [1] * 20 + [0, 0])
    predictions = np.array([0] * 20 + [1] * 20 + [1, 0])
    summary, table = embedding_text(points, labels, predictions, "PCA")
    assert summary == (
        "42 test digits laid out by PCA: 95% lie nearer the centre of their own digit than of"
        " any other. Misclassified (×): 1, 1 of them nearer the centre of the digit they"
        " were taken for."
    )
    assert table["true digit"].tolist() == [0, 1]
    assert table["test digits"].tolist() == [22, 20]
    assert table["misclassified"].tolist() == [1, 0]
    assert abs(table.loc[1, "centre x"] - 10) < 0.1
    figure = embedding_figure(points, labels, predictions, ["x"] * 42)
    names = next(t for t in figure.data if t.mode == "text")
    assert list(names.text) == ["0", "1"]  # each group named where it lies


def test_long_map_titles_take_two_lines() -> None:
    from dashboard.why.charts import two_lines

    assert two_lines("Gradient × input") == "Gradient × input"  # 16 characters: one line
    assert two_lines("Occlusion (drop in p)") == "Occlusion<br>(drop in p)"
    assert two_lines("הסתר (occlusion, הירידה ב-p)").count("<br>") == 1
    assert two_lines("Saliency|∂logit/∂x|xxxxxxxx") == "Saliency|∂logit/∂x|xxxxxxxx"  # no space
