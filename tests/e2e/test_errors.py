"""The errors page in Chromium: a click on a confusion-matrix cell filters the gallery to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from core.analysis.evaluate import evaluate_run, misclassified
from core.runs.store import open_run
from tests.e2e.conftest import plot_position, screenshot, wait_for_app_run


def test_click_confusion_cell_filters_gallery(
    app_url: str, page: Page, e2e_trained_run: Path
) -> None:
    run_dir = e2e_trained_run
    evaluation = evaluate_run(open_run(run_dir))
    confusion = np.where(np.eye(10, dtype=bool), -1, evaluation.confusion)
    true, predicted = (int(v) for v in np.unravel_index(confusion.argmax(), confusion.shape))
    expected = misclassified(evaluation, true, predicted)

    page.goto(f"{app_url}/errors?run={run_dir.name}")
    wait_for_app_run(page)
    expect(page.get_by_text("misclassified (all digits)")).to_be_visible()
    screenshot(page, "errors")

    position = plot_position(page, predicted, true)
    page.mouse.click(*position)
    wait_for_app_run(page)
    expect(
        page.get_by_text(f"{len(expected):,} misclassified (true {true}, predicted {predicted})")
    ).to_be_visible()
    tiles = page.get_by_test_id("stCaptionContainer").filter(has_text="→")
    shown = min(48, len(expected))
    expect(tiles).to_have_count(shown)
    for text in tiles.all_inner_texts():
        assert f": {true} → {predicted} (" in text
    screenshot(page, "errors-filtered")
