"""The app's own style sheet, added on every page by the router (`dashboard/Home.py`).

Small, and each rule for a measured reason (axe-core, tests/e2e/test_accessibility.py):
- inline code in a caption takes the caption's colour: Streamlit draws it in its code green on
  top of the caption's faded text, 3.0:1 on the drill's "Question `case-4`" (WCAG AA: 4.5:1).
"""

from __future__ import annotations

import streamlit as st

APP_CSS = """
<style>
[data-testid="stCaptionContainer"] code {
  color: inherit;
}
</style>
"""


def app_style() -> None:
    st.html(APP_CSS)
