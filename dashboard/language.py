"""The language switch: a sidebar control and `?lang=he` / `?lang=en` in the link, kept as the
page changes; in Hebrew the app runs right to left, while formulas, code, numbers, tables and
figures stay left to right.

The router (`dashboard/Home.py`) calls `choose_language()` at the start of every run, before any
text is drawn; `core.i18n` holds the language for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core.i18n import DEFAULT, LANGUAGES, _, right_to_left, set_language

STATE_KEY = "language"
PARAM = "lang"

# Hebrew runs right to left and is right-aligned; what must not be mirrored is isolated as
# left to right: KaTeX (inline and display), code and the code twin, number inputs and sliders
# (a value grows to the right, as on a figure's axis), tables (Streamlit's data grid), the
# plotly figures (axes never mirror) and a metric's delta (its sign leads, "+0.0012": Streamlit
# reads the direction of the arrow from it). `unicode-bidi: isolate` keeps an inline formula or
# `nn.Conv2d` inside a Hebrew sentence in one piece, in its place. A static table's cells take
# the direction of their own first letter (a Hebrew "operation" reads right to left in the
# left-to-right table).
RTL_CSS = """
<style>
[data-testid="stAppViewContainer"], [data-testid="stSidebar"], [data-testid="stHeader"],
[data-testid="stToast"], [role="dialog"] {
  direction: rtl;
}
[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"],
[data-testid="stHeading"], [data-testid="stAlertContentInfo"],
[data-testid="stAlertContentWarning"], [data-testid="stAlertContentError"],
[data-testid="stAlertContentSuccess"], [data-testid="stWidgetLabel"],
[data-testid="stMetricLabel"], [data-testid="stExpander"] summary,
[data-testid="stTooltipContent"] {
  text-align: right;
}
.katex, .katex-display, code, pre, kbd, samp,
[data-testid="stCode"], [data-testid="stCodeBlock"], [data-testid="stLatex"],
[data-testid="stDataFrame"], [data-testid="stTable"], [data-testid="stPlotlyChart"],
[data-testid="stNumberInput"] input, [data-testid="stTextInput"] input,
[data-testid="stSlider"] [data-baseweb="slider"], [data-testid="stMetricValue"],
[data-testid="stMetricDelta"],
[data-testid="stImage"], .js-plotly-plot {
  direction: ltr;
  unicode-bidi: isolate;
}
[data-testid="stCode"] pre, [data-testid="stLatex"], .katex-display {
  text-align: left;
}
/* Folded away (a narrow window, or 200% zoom), Streamlit slides the sidebar out with
   translateX(-its width): to the left, which in a right-to-left page, with the sidebar on the
   right, lands it over the page as a thin strip of wrapped words. Its box is then 0 wide:
   clip the sidebar to its box. */
[data-testid="stSidebar"] {
  overflow: hidden;
}
[data-testid="stTable"] th, [data-testid="stTable"] td {
  unicode-bidi: plaintext;
  text-align: start;
}
/* st.table writes each cell's text in a paragraph of its own: that paragraph takes a direction. */
[data-testid="stTable"] :is(th, td) p {
  unicode-bidi: plaintext;
}
</style>
"""


def _pick(code: str) -> str:
    return LANGUAGES[code]


def choose_language() -> str:
    """The session's language, from the switch, else the link, else English; set for this run."""
    if STATE_KEY not in st.session_state:
        wanted = st.query_params.get(PARAM, DEFAULT)
        st.session_state[STATE_KEY] = wanted if wanted in LANGUAGES else DEFAULT
    code = set_language(st.session_state[STATE_KEY])
    st.sidebar.segmented_control(
        "Language · שפה",
        list(LANGUAGES),
        format_func=_pick,
        key=STATE_KEY,
        help=_("The app's language; the link keeps it (?lang=he)"),
    )
    if st.session_state.get(STATE_KEY) not in LANGUAGES:  # a click on the chosen one clears it
        st.session_state[STATE_KEY] = code
    code = set_language(st.session_state[STATE_KEY])
    if st.query_params.get(PARAM) != code:
        st.query_params[PARAM] = code
    if right_to_left(code):
        st.html(RTL_CSS)
    return code


def with_language(params: Mapping[str, object]) -> dict[str, object]:
    """`params` for `st.query_params.from_dict` or a page link, with the language kept."""
    return {**params, PARAM: st.session_state.get(STATE_KEY, DEFAULT)}
