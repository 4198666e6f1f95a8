"""The text equivalents of the errors page's figures (dashboard/charts.py): the confusion
matrix, the error rate per digit, the probability bars; and the bars' hatched true digit."""

from __future__ import annotations

import numpy as np

from dashboard.charts import (
    confusion_text,
    per_class_error_text,
    probability_bars_figure,
    probability_text,
)


def test_confusion_text_counts_the_mistakes_and_names_the_worst_pair() -> None:
    confusion = np.diag([980, 1130, 1020, 1000, 970, 880, 950, 1020, 960, 990])
    confusion[4, 9] = 12
    confusion[7, 2] = 5
    confusion[3, 5] = 1
    summary, table = confusion_text(confusion)
    total = int(confusion.sum())
    assert f"18 of {total:,} test digits misclassified" in summary
    assert "4 read as 9, 12 images" in summary
    assert list(table.columns) == ["true digit"] + [f"predicted {d}" for d in range(10)]
    assert table.shape == (10, 11)
    assert table.loc[4, "predicted 9"] == 12 and table.loc[7, "predicted 2"] == 5
    assert table.loc[0, "predicted 0"] == 980


def test_confusion_text_without_mistakes() -> None:
    summary, table = confusion_text(np.diag([100] * 10))
    assert summary == "All 1,000 test digits are on the diagonal: none misclassified."
    assert int(table.iloc[:, 1:].to_numpy().sum()) == 1000


def test_per_class_error_text_names_the_hardest_and_easiest_digit() -> None:
    errors = np.array([0.01, 0.02, 0.05, 0.03, 0.04, 0.06, 0.02, 0.03, 0.04, 0.071])
    summary, table = per_class_error_text(errors)
    assert summary == (
        "Digit 9 is misclassified most often, 7.1% of its test images; digit 0 least often, 1.0%."
    )
    assert list(table.columns) == ["true digit", "error rate"]
    assert table["true digit"].tolist() == list(range(10))
    assert table.loc[9, "error rate"] == 0.071


def test_probability_text_says_the_answer_the_runner_up_and_the_truth() -> None:
    probabilities = np.array([0.01, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.02, 0.01, 0.01])
    assert probability_text(probabilities)[0] == (
        "The network answers 2 (60.0%); next comes 3 (30.0%)."
    )
    assert (
        "2 (60.0%), the true digit (hatched); next comes 3 (30.0%)"
        in (probability_text(probabilities, 2)[0])
    )
    summary, table = probability_text(probabilities, 3)
    assert summary == "The network answers 2 (60.0%); the true digit, 3 (hatched), gets 30.0%."
    assert list(table.columns) == ["digit", "probability"]
    assert table.loc[2, "probability"] == 0.6 and len(table) == 10


def test_the_true_digit_is_hatched_not_only_coloured() -> None:
    probabilities = np.full(10, 0.05)
    probabilities[2] = 0.55
    figure = probability_bars_figure(probabilities, 7)
    shapes = list(figure.data[0].marker.pattern.shape)
    assert shapes[7] == "/" and shapes.count("") == 9
    assert "hatched bar: the true digit" in figure.layout.title.text
    assert "green" not in figure.layout.title.text
    assert set(probability_bars_figure(probabilities).data[0].marker.pattern.shape) == {""}
