"""Inside the network in Chromium: draw a digit with the mouse and a prediction appears."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, wait_for_app_run


def test_draw_a_digit_and_get_a_prediction(app_url: str, page: Page, e2e_trained_run: Path) -> None:
    page.goto(f"{app_url}/inside?run={e2e_trained_run.name}&index=0")
    wait_for_app_run(page)
    expect(page.get_by_text("Prediction: ")).to_be_visible()
    screenshot(page, "inside-test-digit")

    page.get_by_text("draw", exact=True).click()
    wait_for_app_run(page)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    canvas = page.locator("canvas").last
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box is not None and box["width"] >= 200
    # A '1': one vertical stroke down the middle, drawn with the mouse.
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + step * 0.5, y + step * box["height"] * 0.03, steps=2)
    page.mouse.up()
    expect(page.get_by_text("Prediction: ")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("The network's input (28×28")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "inside-drawn")
