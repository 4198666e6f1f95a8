"""The convolution explorer in Chromium: the kernel slider changes the output size; a click on an
output cell writes out its sum; screenshots of the 2D, 1D, multi-channel and pooling views. The
drill names a mistake and links to the explorer, whose downloaded code twin runs and prints what
the page shows; a click on an input cell of a transposed convolution lists the outputs it feeds."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import Page, expect

from tests.e2e.conftest import plot_position, screenshot, wait_for_app_run


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
    position = plot_position(page, 0, 2, axes=("xaxis2", "yaxis2"))
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
    page.get_by_role("option", name="convolution", exact=True).click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "convolution-1d")


def test_drill_reveal_then_the_code_twin_download_runs(app_url: str, page: Page, tmp_path) -> None:
    """The drill in Chromium: the issue's example (input 4, padding 1, kernel 3, stride 2;
    2.5) is told it forgot the floor; its link opens the layer in the explorer, whose code twin
    agrees with torch, and the downloaded .py prints what the page says it prints."""
    page.goto(f"{app_url}/drill?q=1-2011")
    wait_for_app_run(page)
    for label, answer in [
        ("Output shape", "2.5"),
        ("Parameters", "3"),
        ("MACs", "6"),
        ("Receptive field", "3"),
    ]:
        page.get_by_label(label).fill(answer)
    page.get_by_role("button", name="Check my answers").click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="output shape: 1×2")).to_contain_text(
        "Forgot the floor"
    )
    expect(page.get_by_test_id("stAlert").filter(has_text="parameters: 4")).to_contain_text(
        "Forgot the bias"
    )
    expect(page.get_by_test_id("stMetric").filter(has_text="Score")).to_contain_text("0 / 1")
    screenshot(page, "convolution-drill")

    # Streamlit opens markdown links in a new tab: follow the address in this one.
    href = page.get_by_role("link", name="See this layer in the explorer").get_attribute("href")
    assert href.startswith("/convolution?mode=1D")
    page.goto(app_url + href)
    wait_for_app_run(page)
    expect(
        page.get_by_test_id("stMetric")
        .filter(has_text="Output shape")
        .get_by_test_id("stMetricValue")
    ).to_have_text("1×2")
    expect(page.get_by_text("agrees with the page")).to_be_visible()
    prints = page.get_by_test_id("stCode").filter(has_text="shape: (1, 1, 2)").inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as .py").click()
    script = tmp_path / download.value.suggested_filename
    download.value.save_as(script)
    assert script.name == "explorer_conv1d.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == prints.strip()
    screenshot(page, "convolution-code")


def test_transposed_view_and_an_input_cell_s_outputs(app_url: str, page: Page) -> None:
    page.goto(
        f"{app_url}/convolution?op=transposed%20convolution&h=3&w=3&sh=2&sw=2&ph=1&pw=1&oph=1&opw=1"
    )
    wait_for_app_run(page)
    expect(
        page.get_by_test_id("stMetric")
        .filter(has_text="Output shape")
        .get_by_test_id("stMetricValue")
    ).to_have_text("1×6×6")
    # Click stretched cell (1, 1), which holds input x[0,0]: it feeds a 3×3 block of outputs,
    # minus what the padding crops: 4 output cells.
    position = plot_position(page, 1, 1)
    page.mouse.click(*position)
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="feeds")).to_contain_text(
        "Input cell x[0,0] feeds 4 output cells: (0,0), (0,1), (1,0), (1,1)."
    )
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "convolution-transposed")
    page.goto(f"{app_url}/groups-causal")
    wait_for_app_run(page)
    expect(page.get_by_text("depends on the orange cells")).to_be_visible()
    screenshot(page, "groups-causal")
