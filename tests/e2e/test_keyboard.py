"""A drill answered with the keyboard alone (issue 25): Tab from the top of the page to the first
answer box, type each answer and Tab to the next, Enter submits the form; the page grades it
exactly as it grades a mouse user's answers. The explorer's window stepped the same way: Tab to
Next cell, Enter and Space step it on, Shift+Tab and Enter step it back. No click, no `fill`, no
focus set by the test."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_for_app_run

ANSWERS = [("Output shape", "2.5"), ("Parameters", "3"), ("MACs", "6"), ("Receptive field", "3")]


def focused_label(page: Page) -> str:
    """The accessible name of the focused element: its aria-label or its <label>'s text."""
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          if (!e) return '';
          if (e.getAttribute('aria-label')) return e.getAttribute('aria-label');
          return e.labels && e.labels.length ? e.labels[0].innerText : (e.innerText || '');
        }"""
    )


def test_drill_by_keyboard_alone(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/drill?q=1-2011")
    wait_for_app_run(page)
    first = ANSWERS[0][0]
    for _presses in range(80):
        page.keyboard.press("Tab")
        if focused_label(page).strip().startswith(first):
            break
    else:
        raise AssertionError(f"Tab never reached the {first!r} box")
    for index, (label, answer) in enumerate(ANSWERS):
        assert focused_label(page).strip().startswith(label), focused_label(page)
        page.keyboard.type(answer)
        if index < len(ANSWERS) - 1:
            page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="output shape: 1×2")).to_contain_text(
        "Forgot the floor"
    )
    expect(page.get_by_test_id("stMetric").filter(has_text="Score")).to_contain_text("0 / 1")


def tab_to(page: Page, name: str, presses: int = 120) -> None:
    for _presses in range(presses):
        page.keyboard.press("Tab")
        if focused_label(page).strip().endswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_explorer_window_stepped_by_keyboard_alone(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/convolution")
    wait_for_app_run(page)
    written = page.get_by_test_id("stCode").first
    expect(written).to_contain_text("y[0,0] = ")
    tab_to(page, "Next cell")
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(written).to_contain_text("y[0,1] = ")
    # A rerun may draw the button again: find it by Tab once more before each press.
    tab_to(page, "Next cell")
    page.keyboard.press("Space")
    wait_for_app_run(page)
    expect(written).to_contain_text("y[0,2] = ")
    tab_to(page, "Previous cell")
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(written).to_contain_text("y[0,1] = ")
    # The figure's text equivalent follows the window.
    expect(page.get_by_text("The selected output y[0,1] =")).to_be_visible()
