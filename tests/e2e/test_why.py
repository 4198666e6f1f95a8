"""Why it errs in Chromium: from the errors gallery's inspect view to the attribution maps of
that digit; a click on the F6 map inspects a digit and explains it; the robustness view shows
the background job's progress while the page stays usable."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from core.analysis import background
from core.runs.store import open_run
from tests.e2e.conftest import screenshot, wait_for_app_run

SLOW = 120_000  # ms: the first visit evaluates the run and computes F6 features of 10,000 digits


def test_why_it_erred_from_the_gallery_to_the_map(
    app_url: str, page: Page, e2e_trained_run: Path
) -> None:
    run = open_run(e2e_trained_run)
    page.goto(f"{app_url}/errors?run={run.id}")
    wait_for_app_run(page, SLOW)
    page.get_by_role("button", name="Inspect").first.click()
    wait_for_app_run(page)
    href = page.get_by_role("link", name="Why did it err?").get_attribute("href")
    assert href is not None
    query = parse_qs(urlparse(href).query)
    assert query["run"] == [run.id]
    index = int(query["index"][0])

    page.goto(app_url + href)
    wait_for_app_run(page, SLOW)
    expect(page.get_by_text("What the network looks at")).to_be_visible()
    expect(page.get_by_text("Is the picture faithful?")).to_be_visible()
    expect(page.get_by_text("✗ (the label says")).to_be_visible()  # a misclassified digit
    expect(page.get_by_test_id("stNumberInputField")).to_have_value(str(index))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "why-attribution")

    # Where the mistakes live: click a point of the map, inspect it, explain it.
    page.get_by_text("Where the mistakes live").click()
    wait_for_app_run(page, SLOW)
    # The map is the plot with a trace per digit; wait for it (not merely the first plot in
    # the page: the other tab's plots stay there) and bring it into view.
    the_map = (
        "[...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullData?.length >= 11)"
    )
    page.wait_for_function(f"() => Boolean({the_map})", timeout=SLOW)
    page.evaluate(f"() => {the_map}.scrollIntoView({{block: 'center'}})")
    page.wait_for_timeout(500)  # let plotly settle after the scroll
    # A point of the 3s, and every digit drawn within 6 px of it (plotly picks the nearest,
    # which may be a neighbour under the cursor).
    x, y, near = page.evaluate("""() => {
      const gd = [...document.querySelectorAll('.js-plotly-plot')]
        .find(g => g._fullData?.length >= 11);
      const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const box = gd.getBoundingClientRect();
      const at = (t, i) => [box.left + xa._offset + xa.d2p(t.x[i]),
                            box.top + ya._offset + ya.d2p(t.y[i])];
      const trace = gd._fullData[3];
      const [x, y] = at(trace, Math.floor(trace.x.length / 2));
      const near = [];
      for (const t of gd._fullData.slice(0, 11)) {
        for (let i = 0; i < t.x.length; i++) {
          const [px, py] = at(t, i);
          if (Math.hypot(px - x, py - y) <= 6) near.push(t.customdata[i]);
        }
      }
      return [x, y, near];
    }""")
    page.mouse.move(x, y)
    expect(page.locator(".hoverlayer").get_by_text("predicted").first).to_be_visible()
    page.mouse.click(x, y)
    wait_for_app_run(page)
    inspected = page.get_by_text("Test digit #")
    expect(inspected).to_be_visible()
    shown = int(inspected.inner_text().split("#")[1])
    assert shown in near, (shown, near)
    screenshot(page, "why-map")
    page.get_by_role("button", name="What does it look at?").click()
    wait_for_app_run(page, SLOW)
    expect(page.get_by_text("What the network looks at")).to_be_visible()
    expect(page.get_by_test_id("stNumberInputField")).to_have_value(str(shown))

    # Where it breaks: the whole-test-set sweeps run in the background, with progress.
    page.get_by_text("Where it breaks").click()
    wait_for_app_run(page, SLOW)
    try:
        expect(page.get_by_text("Computing in the background").first).to_be_visible()
        expect(page.get_by_text("Shifted, rotated, scaled.")).to_be_visible()  # not blocked
        page.get_by_text("What it looks at").click()  # still usable while it computes
        wait_for_app_run(page, SLOW)
        expect(page.get_by_text("Is the picture faithful?")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        background.stop(run)
