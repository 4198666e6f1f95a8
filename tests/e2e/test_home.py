"""The Home page in a real browser: it renders, and the FC-vs-conv comparison reacts."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.convolution.arithmetic import conv_versus_fc
from tests.e2e.conftest import screenshot, wait_for_app_run


def metric_value(page: Page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def set_number(page: Page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app_run(page)


def test_home_renders_and_comparison_reacts(app_url: str, page: Page) -> None:
    page.goto(app_url)
    wait_for_app_run(page)
    expect(
        page.get_by_role("heading", name="Convolutional neural networks, explained by doing")
    ).to_be_visible()
    expect(page.get_by_text("MNIST: all four files present")).to_be_visible()
    expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()

    default = conv_versus_fc(28, 28, 1, 6, 5)
    assert metric_value(page, "Fully connected") == f"{default.fc_params:,}"
    assert metric_value(page, "Convolutional") == f"{default.conv_params:,}"
    screenshot(page, "home")

    set_number(page, "Input height", 32)
    changed = conv_versus_fc(32, 28, 1, 6, 5)
    expect(
        page.get_by_test_id("stMetric")
        .filter(has_text="Fully connected")
        .get_by_test_id("stMetricValue")
    ).to_have_text(f"{changed.fc_params:,}")
    assert changed.fc_params != default.fc_params
    # The conv layer's count does not depend on the input size: weight sharing.
    assert metric_value(page, "Convolutional") == f"{default.conv_params:,}"

    set_number(page, "Kernel size", 31)
    expect(
        page.get_by_text("dilated kernel spans 31 cells but the padded input has 28")
    ).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
