"""The language switch in Chromium (issue 24): the explorer turned to Hebrew from the sidebar and
back. In Hebrew the page runs right to left and its title is the catalogue's, while a formula
(KaTeX) and the PyTorch code twin stay left to right; the language stays in the link as the
page changes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from core.i18n import _, in_language
from tests.e2e.conftest import screenshot, wait_for_app_run


def direction(page: Page, locator) -> str:
    return locator.evaluate("(element) => getComputedStyle(element).direction")


def switch_to(page: Page, name: str) -> None:
    # A segmented control's options: buttons, with role "radio" in newer Streamlit versions.
    page.get_by_test_id("stSidebar").locator("[data-variant=segmented_control]").filter(
        has_text=name
    ).click()
    wait_for_app_run(page)


def test_explorer_in_hebrew_and_back(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/convolution")
    wait_for_app_run(page)
    english_title = "Convolution explorer"
    with in_language("he"):
        hebrew_title = _(english_title)
    assert re.search("[\u0590-\u05ff]", hebrew_title)
    main = page.get_by_test_id("stMain")
    expect(page.get_by_role("heading", name=english_title, exact=True)).to_be_visible()
    assert direction(page, main) == "ltr"

    switch_to(page, "עברית")
    expect(page.get_by_role("heading", name=hebrew_title, exact=True)).to_be_visible()
    assert "lang=he" in page.url
    assert direction(page, main) == "rtl"
    assert direction(page, page.get_by_test_id("stSidebar")) == "rtl"
    heading = page.get_by_role("heading", name=hebrew_title, exact=True)
    assert heading.evaluate("(e) => getComputedStyle(e).textAlign") in ("right", "start")
    # Formulas and code read left to right inside the right-to-left page.
    formula = page.locator(".katex").first
    expect(formula).to_be_visible()
    assert direction(page, formula) == "ltr"
    total = page.get_by_test_id("stCode").filter(has_text="y[0,0] = ").first  # the sum
    assert direction(page, total) == "ltr"
    code = page.get_by_test_id("stCode").filter(has_text="import torch").first  # the twin
    code.scroll_into_view_if_needed()
    assert direction(page, code) == "ltr"
    assert "nn.Conv2d" in code.inner_text() or "F.conv2d" in code.inner_text()
    screenshot(page, "explorer-hebrew")

    # The language is kept as the page changes (the sidebar's navigation).
    page.get_by_test_id("stSidebarNav").get_by_role("link").nth(2).click()
    wait_for_app_run(page)
    assert "lang=he" in page.url
    assert direction(page, page.get_by_test_id("stMain")) == "rtl"

    page.goto(f"{app_url}/convolution?lang=he")
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name=hebrew_title, exact=True)).to_be_visible()
    switch_to(page, "English")
    expect(page.get_by_role("heading", name=english_title, exact=True)).to_be_visible()
    assert direction(page, page.get_by_test_id("stMain")) == "ltr"
    assert "lang=en" in page.url


# Where the sidebar's content shows through at a point of the window: the element drawn on top
# there belongs to the sidebar.
SIDEBAR_ON_TOP = """() => {
  const content = document.querySelector('[data-testid=stSidebarContent]');
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  const box = content.getBoundingClientRect();
  const left = Math.max(box.left, 0), right = Math.min(box.right, window.innerWidth);
  const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, window.innerHeight);
  const seen = [];
  for (let x = left + 1; x < right; x += 4) {
    for (let y = top + 20; y < bottom; y += 40) {
      const element = document.elementFromPoint(x, y);
      if (element && sidebar.contains(element)) seen.push([Math.round(x), Math.round(y)]);
    }
  }
  return seen;
}"""


def _hebrew(text: str) -> str:
    with in_language("he"):
        return _(text)


def test_folded_sidebar_stays_out_of_a_narrow_hebrew_page(app_url: str, page: Page) -> None:
    """At 700 px (a 1400-pixel window at 200% zoom) Streamlit folds the sidebar away. In Hebrew it
    sits on the right, and Streamlit's slide to the left used to leave it over the middle of the
    page as a thin strip of wrapped words; opened, it shows its navigation, and folds again."""
    page.set_viewport_size({"width": 700, "height": 900})
    page.goto(f"{app_url}/convolution?lang=he")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stMain")).to_have_css("direction", "rtl")
    # The sidebar slides (a CSS transition): wait for it to come to rest, folded.
    page.wait_for_function(f"() => ({SIDEBAR_ON_TOP})().length === 0", timeout=10_000)
    # A table's Hebrew cell reads right to left inside the left-to-right table: st.table puts
    # its text in a <p>, which takes the direction of its first letter.
    numbers = page.get_by_test_id("stExpander").filter(
        has_text=_hebrew("The numbers behind this figure")
    )
    numbers.first.locator("summary").click()
    cell = numbers.first.get_by_test_id("stTable").locator("th p").first
    expect(cell).to_have_css("unicode-bidi", "plaintext")
    page.get_by_test_id("stExpandSidebarButton").click()
    navigation = page.get_by_test_id("stSidebarNav")
    expect(navigation.get_by_role("link").first).to_be_in_viewport()
    page.wait_for_function(f"() => ({SIDEBAR_ON_TOP})().length > 0", timeout=10_000)
    screenshot(page, "explorer-hebrew-700px-sidebar-open")
