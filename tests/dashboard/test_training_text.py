"""The text equivalents of the training and compare pages' curves (issue 25), from made-up
metrics records: what a screen reader hears instead of the figure."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.config import TrainConfig
from dashboard.charts import (
    curves_against_seconds_text,
    learning_rate_text,
    training_curves_text,
)
from dashboard.convolution.views import kernel_stack_text


def batches(losses: list[float], epoch: int = 0) -> list[dict]:
    return [{"kind": "batch", "epoch": epoch, "batch": b, "loss": v} for b, v in enumerate(losses)]


def epoch(number: int, val_error: float, best: int, seconds: float = 2.0) -> dict:
    return {
        "kind": "epoch",
        "epoch": number,
        "train_loss": 0.5 / number,
        "val_loss": 0.6 / number,
        "val_error": val_error,
        "best_epoch": best,
        "seconds": seconds,
    }


def test_curves_say_where_the_loss_goes_and_the_best_epoch() -> None:
    records = [*batches([2.3, 1.0]), epoch(1, 0.05, 1), *batches([0.4, 0.0123], 1)]
    records.append(epoch(2, 0.02, 2))
    summary, table = training_curves_text([("a1b2 lr 0.1", 2, records)])
    assert summary == (
        "a1b2 lr 0.1: the batch loss goes from 2.30 to 0.012 by the end of epoch 2;"
        " best validation epoch 2 (validation error 2.00%)."
    )
    assert list(table.columns) == [
        "run",
        "epoch",
        "train loss",
        "validation loss",
        "validation error",
    ]
    assert table["validation error"].tolist() == [0.05, 0.02]


def test_curves_before_the_first_epoch_and_before_any_batch() -> None:
    summary, table = training_curves_text([("early", 10, batches([2.3, 2.1])), ("queued", 10, [])])
    assert "the batch loss goes from 2.30 to 2.100; no epoch finished yet." in summary
    assert summary.endswith("queued: no batches logged yet.")
    assert table.empty  # no epoch, no row


def test_a_diverged_batch_is_left_out_of_the_loss_range() -> None:
    records = [*batches([2.3, float("nan"), 1.5]), epoch(1, 0.9, 1)]
    summary, _table = training_curves_text([("x", 3, records)])
    assert "from 2.30 to 1.500" in summary


def test_seconds_add_up_over_the_epochs() -> None:
    records = [epoch(1, 0.1, 1, seconds=3.25), epoch(2, 0.04, 2, seconds=3.0)]
    summary, table = curves_against_seconds_text([("fast", records)])
    assert "6.2 s of training to the end of epoch 2, validation error 4.00% there." in summary
    assert table["seconds of training"].tolist() == [3.2, 6.2]


@pytest.mark.parametrize(
    ("schedule", "low", "high"),
    [("constant", "0.1", "0.1"), ("cosine", "0", "0.1"), ("linear", "0", "0.1")],
)
def test_the_learning_rate_summary_gives_the_schedule_and_its_range(
    schedule: str, low: str, high: str
) -> None:
    config = TrainConfig(lr=0.1, epochs=2, train_subset=6_400, schedule=schedule)
    text = learning_rate_text([("run", config)])
    assert f"run: {schedule} schedule, the rate between" in text
    # A decaying schedule's smallest rate is its last step's: 1/200 of the peak or less, >= 0.
    first, last = text.split("between ")[1].rstrip(".").split(" and ")
    assert last == high
    assert float(low) <= float(first) <= float(low) + 0.1 / 200


def test_the_kernel_stack_summary_and_its_weights() -> None:
    weights = np.array([[[1.0, -2.0], [0.5, 0.0]], [[3.0, 0.25], [-1.0, 1.0]]])
    summary, table = kernel_stack_text(weights, [0, 2])
    assert summary == (
        "Kernels in the stack: 2, each 2×2, one per input channel read; weights from -2 to 3."
    )
    assert table["input channel"].tolist() == [0, 0, 2, 2]
    assert table["kernel row"].tolist() == [0, 1, 0, 1]
    assert len(table.columns) == 4  # input channel, kernel row, col 0, col 1
