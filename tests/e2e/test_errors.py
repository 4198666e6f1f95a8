"""The errors page in Chromium: a click on a confusion-matrix cell filters the gallery to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from core.analysis.evaluate import evaluate_run, misclassified
from core.runs.store import open_run
from tests.e2e.conftest import screenshot, wait_for_app_run


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

    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let plotly settle after the scroll
    position = page.evaluate(f"""() => {{
      const gd = [...document.querySelectorAll('.js-plotly-plot')][0];
      const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const box = gd.getBoundingClientRect();
      return [box.left + xa._offset + xa.d2p({predicted}), box.top + ya._offset + ya.d2p({true})];
    }}""")
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
