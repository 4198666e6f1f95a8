"""Training from the browser: start a run, watch its curve grow, stop it, reload: still there."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

from core.runs.store import list_runs
from tests.e2e.conftest import screenshot, wait_for_app_run

CURVE_POINTS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  if (!plot || !plot.data) return 0;
  return plot.data.reduce((n, trace) => n + (trace.x ? trace.x.length : 0), 0);
}"""


def test_start_watch_stop_reload(app_url: str, page: Page, e2e_runs_root: Path) -> None:
    before = {run.id for run in list_runs(e2e_runs_root)}
    page.goto(f"{app_url}/training")
    wait_for_app_run(page)
    expect(page.get_by_text("Idle: nothing is running")).to_be_visible()
    screenshot(page, "training-idle")

    page.get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input").fill("20")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Live: refreshing every 2 s")).to_be_visible(timeout=30_000)
    new_runs = [run for run in list_runs(e2e_runs_root) if run.id not in before]
    assert len(new_runs) == 1

    # The curve must update by itself at least twice.
    counts = [page.evaluate(CURVE_POINTS)]
    deadline = time.monotonic() + 90
    while len(set(c for c in counts if c > 0)) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
        counts.append(page.evaluate(CURVE_POINTS))
    distinct = sorted(set(c for c in counts if c > 0))
    assert len(distinct) >= 3, f"curve did not grow twice: {counts}"
    screenshot(page, "training-live")

    # 20 epochs: long enough that it is still running when we stop it. The Stop button sits
    # in a fragment that redraws every 2 s, so a click can land on a replaced element:
    # click again until the run says it stopped.
    stopped = page.get_by_text("stopped after")
    deadline = time.monotonic() + 60
    while not stopped.is_visible() and time.monotonic() < deadline:
        stop = page.get_by_role("button", name="Stop")
        if stop.count():
            stop.first.click()
        page.wait_for_timeout(2_000)
    expect(stopped).to_be_visible(timeout=30_000)
    points_when_stopped = page.evaluate(CURVE_POINTS)

    page.reload()
    wait_for_app_run(page)
    (run,) = [run for run in list_runs(e2e_runs_root) if run.id not in before]
    # After a reload the page follows the newest run that logged anything, even one stopped
    # inside its first epoch: its "stopped" message names it (the table's cells are hidden
    # accessibility copies of a canvas, so they cannot show it).
    stopped_message = page.get_by_test_id("stAlert").filter(has_text=run.id)
    expect(stopped_message.filter(has_text="stopped after")).to_be_visible()
    page.wait_for_function(f"() => ({CURVE_POINTS})() >= {points_when_stopped}")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "training")
