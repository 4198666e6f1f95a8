"""The LeNet-5 page in Chromium: the lecture's totals, then a change of C1 moves them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.model.lenet import LeNetArchitecture, lenet_layer_table
from tests.e2e.conftest import screenshot, wait_for_app_run


def parameters(page: Page):
    return (
        page.get_by_test_id("stMetric")
        .filter(has_text="Parameters")
        .get_by_test_id("stMetricValue")
    )


def test_lenet_page(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/lenet")
    wait_for_app_run(page)
    expect(parameters(page)).to_have_text("61,706")
    expect(page.get_by_text("Checked against PyTorch")).to_be_visible()
    screenshot(page, "lenet")
    slider = page.get_by_test_id("stSlider").filter(has_text="Pooling window").get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")  # pooling 3: C1 28 -> S2 9 -> C3 5 -> S4 1 -> C5 impossible
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").first).to_contain_text("Layer C5 would produce a map")
    slider.press("ArrowLeft")
    wait_for_app_run(page)
    expected = sum(r.parameters for r in lenet_layer_table(LeNetArchitecture()))
    expect(parameters(page)).to_have_text(f"{expected:,}")
