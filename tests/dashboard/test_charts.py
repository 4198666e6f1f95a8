"""Figure builders of dashboard/charts.py, inspected without a browser: the training curves
built from hand-made metric records (as pages/training.py passes them), the confusion matrix's
text colours."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.colors import get_colorscale, sample_colorscale

from dashboard.charts import (
    CONFUSION_CLICK_TRACE,
    confusion_matrix_figure,
    contrast_ratio,
    contrasting_text_colour,
    error_axis_range,
    log_loss_ticks,
    training_curves_figure,
)

PER_EPOCH = 40


def batch(epoch: int, index: int, loss: float | None) -> dict:
    step = epoch * PER_EPOCH + index
    record = {"kind": "batch", "epoch": epoch, "batch": index, "step": step, "loss": loss}
    if loss is None:
        record["nonfinite"] = "nan"
    return record


def epoch(number: int, val_error: float, best_epoch: int, best_val_error: float) -> dict:
    return {
        "kind": "epoch",
        "epoch": number,
        "train_loss": 2.2,
        "val_loss": 2.25,
        "val_error": val_error,
        "best_epoch": best_epoch,
        "best_val_error": best_val_error,
        "seconds": 3.0,
        "images_per_second": 2000.0,
    }


def trace(figure, name: str):
    return next(t for t in figure.data if t.name == name)


def note_texts(figure) -> list[str]:
    return [a.text for a in figure.layout.annotations]


@pytest.mark.parametrize("high_error", [0.9, 0.8867, 1.0, 0.012])
def test_the_best_epoch_star_is_inside_the_error_axis(high_error: float) -> None:
    """A run that learned nothing (error about 90%) once had its star drawn above the axis."""
    records = [batch(0, i, 2.3) for i in range(0, PER_EPOCH, 10)]
    records += [epoch(1, high_error, 1, high_error), epoch(2, high_error * 1.001, 1, high_error)]
    figure = training_curves_figure([("lr 0.5", PER_EPOCH, records)], 0.6, True)
    star = trace(figure, "lr 0.5 best epoch")
    assert star.marker.symbol == "star" and star.y == (high_error,)
    low, high = figure.layout.yaxis2.range
    assert -0.1 * high < low <= 0  # from (just below) 0 ...
    highest = high_error * 1.001
    # ... to well above the highest point: room for a 16 px marker (it sits at most ~87% of
    # the way up a ~280 px tall plot).
    assert (highest - low) / (high - low) <= 0.9


def test_the_error_axis_spans_every_run() -> None:
    quick = [epoch(1, 0.05, 1, 0.05)]
    stuck = [epoch(1, 0.89, 1, 0.89)]
    figure = training_curves_figure([("a", PER_EPOCH, quick), ("b", PER_EPOCH, stuck)])
    assert figure.layout.yaxis2.range[1] >= 0.89 * 1.1
    assert error_axis_range([]) == [0.0, 1.0]


def test_a_queued_run_draws_two_clean_empty_panels() -> None:
    """No metrics yet: no log axis from 0.1 to 10k, no ticks, a centred note in each panel."""
    figure = training_curves_figure([("queued run", PER_EPOCH, [])], 0.6, True)
    assert all(point is None for t in figure.data for point in t.x)  # nothing drawn
    for axis in (figure.layout.xaxis, figure.layout.yaxis, figure.layout.xaxis2):
        assert axis.showticklabels is False and axis.showgrid is False
    assert figure.layout.yaxis.type == "linear" and tuple(figure.layout.yaxis.range) == (0, 1)
    assert figure.layout.yaxis2.showticklabels is False
    notes = {a.text: a for a in figure.layout.annotations}
    loss_note, error_note = notes["no batches logged yet"], notes["appears after the first epoch"]
    assert (loss_note.xref, loss_note.yref, loss_note.x, loss_note.y) == (
        "x domain",
        "y domain",
        0.5,
        0.5,
    )
    assert (error_note.xref, error_note.yref) == ("x2 domain", "y2 domain")
    assert loss_note.xanchor == "center" and loss_note.yanchor == "middle"


def test_batches_without_an_epoch_fill_the_loss_panel_only() -> None:
    records = [batch(0, i, 2.3 - i / 100) for i in range(0, PER_EPOCH, 5)]
    figure = training_curves_figure([("running", PER_EPOCH, records)], 0.6, True)
    assert "no batches logged yet" not in note_texts(figure)
    assert "appears after the first epoch" in note_texts(figure)
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis.showticklabels is not False
    assert trace(figure, "running").x[0] == 0.0


def test_a_diverged_run_still_shows_its_cross() -> None:
    records = [batch(0, 0, 2.3), batch(0, 10, None)]
    figure = training_curves_figure([("lr 5", PER_EPOCH, records)], 0.6, False)
    cross = next(t for t in figure.data if t.marker.symbol == "x")
    assert cross.text == ("diverged (nan)",)
    assert "no batches logged yet" not in note_texts(figure)


def test_confusion_counts_are_white_on_dark_cells_and_dark_on_light_ones() -> None:
    confusion = np.full((10, 10), 0)
    np.fill_diagonal(confusion, 950)
    confusion[4, 9] = 977  # the darkest red cell
    confusion[3, 5] = 1  # a faint one
    figure = confusion_matrix_figure(confusion)
    counts = figure.data[CONFUSION_CLICK_TRACE]  # the clickable markers carry the counts
    colours = np.array(counts.textfont.color).reshape(10, 10)
    assert colours[4, 9] == "white"
    assert colours[3, 5] != "white" and colours[0, 1] != "white"  # light red and zero cells
    assert colours[0, 0] != "white"  # the pale blue diagonal
    assert contrasting_text_colour("#67000d") == "white"
    assert contrasting_text_colour("#fff5f0") != "white"
    # Every count keeps WCAG AA's 4.5:1 on its own cell, the cells' colours taken from the
    # heatmaps as plotly draws them (the diagonal's one colour, the errors' log scale).
    diagonal, errors = figure.data[0], figure.data[1]
    z = np.array(errors.z, dtype=float)
    for (i, j), colour in np.ndenumerate(colours):
        if i == j:
            background = diagonal.colorscale[0][1]
        else:
            share = (z[i, j] - errors.zmin) / (errors.zmax - errors.zmin)
            scale = [[float(at), colour_at] for at, colour_at in errors.colorscale]
            background = sample_colorscale(scale, [float(share)])[0]
        assert contrast_ratio(colour, background) >= 4.5, (i, j, colour, background)


def test_the_text_colour_keeps_4_5_to_1_on_any_background() -> None:
    # The worst case is the grey where white and black contrast equally (about 4.58:1).
    for level in range(256):
        grey = f"#{level:02x}{level:02x}{level:02x}"
        assert contrast_ratio(contrasting_text_colour(grey), grey) >= 4.5, grey
    for colour in sample_colorscale(get_colorscale("Reds"), list(np.linspace(0, 1, 101))):
        assert contrast_ratio(contrasting_text_colour(colour), colour) >= 4.5, colour


def test_the_log_loss_axis_has_labels_within_one_decade() -> None:
    plateau = [batch(0, i, 2.3 - i / 1000) for i in range(0, PER_EPOCH, 5)]
    figure = training_curves_figure([("plateau", PER_EPOCH, plateau)], 0.6, True)
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis.dtick is None
    assert figure.layout.yaxis.tickvals is None  # 2.26-2.3: plotly's own fine ticks
    assert log_loss_ticks([0.21, 2.3])["ticktext"] == ["0.5", "1", "2"]  # 1-2-5 steps
    learning = [batch(0, i, 2.3 / (1 + i) ** 2) for i in range(0, PER_EPOCH, 5)]
    figure = training_curves_figure([("learning", PER_EPOCH, learning)], 0.6, True)
    assert figure.layout.yaxis.dtick == 1  # one label a decade


def test_architecture_text_walks_the_lecture_network() -> None:
    from core.model.lenet import LeNetArchitecture, lenet_layer_table
    from dashboard.charts import architecture_text

    text = architecture_text(lenet_layer_table(LeNetArchitecture())).replace("\u2066", "")
    text = text.replace("\u2069", "")
    assert text.startswith("The image passes through")
    assert "input 1×32×32, C1 6×28×28, S2 6×14×14, C3 16×10×10, S4 16×5×5" in text
    assert "The maps shrink from 32×32 to 1×1 while their number grows from 1 to 120." in text
