"""The convolution explorer in Chromium: the kernel slider changes the output size; a click on an
output cell writes out its sum; screenshots of the 2D, 1D, multi-channel and pooling views."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, wait_for_app_run


def output_shape(page: Page) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text="Output shape")
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def test_kernel_slider_click_and_views(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/convolution")
    wait_for_app_run(page)
    assert output_shape(page) == "1×3×3"

    # Move the kernel-width slider with the keyboard: 3 -> 4 -> 5.
    slider = page.get_by_test_id("stSlider").filter(has_text="Kernel width").get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    wait_for_app_run(page)
    slider.press("ArrowRight")
    wait_for_app_run(page)
    expect(
        page.get_by_test_id("stMetric")
        .filter(has_text="Output shape")
        .get_by_test_id("stMetricValue")
    ).to_have_text("1×3×1")

    # A click on output cell (row 2, col 0) selects it and writes its sum out.
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let plotly settle after the scroll
    position = page.evaluate("""() => {
      const gd = document.querySelector('.js-plotly-plot');
      const xa = gd._fullLayout.xaxis2, ya = gd._fullLayout.yaxis2;
      const box = gd.getBoundingClientRect();
      return [box.left + xa._offset + xa.d2p(0), box.top + ya._offset + ya.d2p(2)];
    }""")
    page.mouse.click(*position)
    wait_for_app_run(page)
    expect(page.get_by_test_id("stCode").first).to_contain_text("y[2,0] = ")
    screenshot(page, "convolution-2d")

    page.get_by_test_id("stButton").filter(has_text="dilation (7×7").click()
    wait_for_app_run(page)
    expect(page.get_by_text("expected output 3×3 ✓")).to_be_visible()
    screenshot(page, "convolution-dilation")

    page.get_by_test_id("stNumberInput").filter(has_text="Input channels").locator("input").fill(
        "3"
    )
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    page.get_by_test_id("stNumberInput").filter(has_text="Output channels").locator("input").fill(
        "2"
    )
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(page.get_by_text("kernel stack of output channel 0")).to_be_visible()
    expect(page.get_by_test_id("stCode").first).to_contain_text("channel 2:")
    screenshot(page, "convolution-channels")

    page.get_by_test_id("stSelectbox").filter(has_text="Operation").click()
    page.get_by_role("option", name="max pooling").click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stCode").first).to_contain_text("max(")
    screenshot(page, "convolution-pooling")

    page.get_by_text("1D", exact=True).click()
    wait_for_app_run(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Operation").click()
    page.get_by_role("option", name="convolution").click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "convolution-1d")
