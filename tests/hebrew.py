"""What a page shows in Hebrew, read through AppTest, and which of it is still English.

`shown_text(app)` collects every text a student reads from an AppTest run: titles, markdown,
captions, alerts, widget labels, options and help, metric labels, expander and tab labels, button
labels, and the plotly figures' titles, axis titles, trace names and annotations.
`untranslated(texts)` keeps those that read as English prose with no Hebrew letter in them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from streamlit.testing.v1 import AppTest

from core.i18n import LANGUAGES
from dashboard.site import REPO_ROOT

HEBREW = re.compile(r"[\u0590-\u05ff]")
# Left as they are in either language: formulas, code, links, icons, placeholders, and a term
# in parentheses (the lecture's way: "ריפוד (padding)").
NOT_PROSE = [
    re.compile(pattern, re.S)
    for pattern in (
        r"\$\$.*?\$\$",
        r"\$[^$]*\$",
        r"```.*?```",
        r"`[^`]*`",
        r"https?://\S+",
        r":material/[a-z_]+:",
        r"\([^()]*\)",
        r"<[^>]+>",
        r"\\[a-zA-Z]+",
    )
]
# A word of prose: three or more letters, lower case after the first (not LeNet, MNIST, ReLU,
# FGSM, Conv2d, x_out, ...).
PROSE_WORD = re.compile(r"(?<![\w.-])[A-Za-z][a-z]{2,}(?![\w.(-])")


def untranslated(texts: Iterable[str]) -> list[str]:
    """The texts that hold English prose and no Hebrew."""
    found = []
    for text in texts:
        if not text or HEBREW.search(text) or text in LANGUAGES.values():  # the switch's names
            continue
        stripped = text
        for pattern in NOT_PROSE:
            stripped = pattern.sub(" ", stripped)
        if PROSE_WORD.search(stripped):
            found.append(text)
    return found


# Numbers joined by operators where no letter sets their direction: in a right-to-left line
# "1×28×28" or "784 × 3,456 = 2,712,960" is laid out backwards (Unicode's bidi algorithm keeps
# "0-9" or "3+4" together, but not a sum with spaces or a "×"). In a Hebrew line every such sum
# must be isolated (LRI ... PDI: `core.i18n.ltr`, or the catalogue's own isolation); in a line
# without Hebrew only a leading one is mis-ordered (a Latin letter before it sets it right).
SUM = r"\d[\d,.]*%?(?:\s*[×=·]\s*|\s+[+/−-]\s+)\d"
LEADING_SUM = re.compile(r"^[\s*#>(\[]*" + SUM)
ANY_SUM = re.compile(SUM)
ISOLATED = re.compile("\u2066.*?\u2069", re.S)


def mirrored(texts: Iterable[str]) -> list[str]:
    """The texts holding a sum that a right-to-left page would lay out backwards."""
    found = []
    for text in texts:
        stripped = ISOLATED.sub(" ", text)
        for pattern in NOT_PROSE[:4]:  # formulas and code are isolated left to right already
            stripped = pattern.sub(" ", stripped)
        for line in stripped.splitlines():
            if (ANY_SUM if HEBREW.search(line) else LEADING_SUM).search(line):
                found.append(text)
                break
    return found


def _figure_texts(spec: str) -> Iterator[str]:
    figure = json.loads(spec)
    layout = figure.get("layout", {})

    def title(node: object) -> str | None:
        if isinstance(node, dict):
            node = node.get("text")
        return node if isinstance(node, str) else None

    yield from filter(None, [title(layout.get("title"))])
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            yield from filter(None, [title(axis.get("title"))])
    for annotation in layout.get("annotations", []):
        yield annotation.get("text", "")
    for trace in figure.get("data", []):
        if trace.get("showlegend", True) is not False and isinstance(trace.get("name"), str):
            yield trace["name"]
        colorbar = trace.get("colorbar") or trace.get("marker", {}).get("colorbar")
        if isinstance(colorbar, dict):
            yield from filter(None, [title(colorbar.get("title"))])


def shown_text(app: AppTest) -> list[str]:
    """Every text the run's elements show (main area and sidebar)."""
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text"):
        texts += [element.value for element in getattr(app, kind)]
    for kind in ("info", "warning", "error", "success", "toast"):
        texts += [element.value for element in getattr(app, kind)]
    for kind in (
        "button",
        "checkbox",
        "toggle",
        "radio",
        "selectbox",
        "multiselect",
        "slider",
        "select_slider",
        "number_input",
        "text_input",
        "text_area",
        "segmented_control",
        "pills",
        "download_button",
        "form_submit_button",
        "metric",
        "expander",
        "tabs",
        "page_link",
        "link_button",
    ):
        for element in getattr(app, kind):
            texts.append(getattr(element, "label", "") or "")
            texts.append(getattr(element, "help", "") or "")
            options = getattr(element, "options", None)
            if options and kind != "slider":
                texts += [str(option) for option in options]
    for element in app.get("plotly_chart"):
        texts += list(_figure_texts(element.proto.spec))
    return [text for text in texts if isinstance(text, str) and text.strip()]


def page_in(
    language: str, page: str, query: dict[str, str] | None = None, timeout: float = 120
) -> AppTest:
    """`page` (e.g. "pages/training.py") run through the router in `language`, with `query` in
    its link."""
    app = AppTest.from_file(str(REPO_ROOT / "dashboard/Home.py"), default_timeout=timeout)
    app.query_params.update(query or {})
    app.query_params["lang"] = language
    app.run()
    if page != "pages/welcome.py":
        # After a first run: before it AppTest finds a page by its file name, and misses one
        # that st.navigation registers under another url_path (groups-causal, lenet).
        app.switch_page(str(REPO_ROOT / page))
        app.run()
    return app


if __name__ == "__main__":  # python -m tests.hebrew pages/x.py [extra.json]: what is still English
    import sys

    from core import i18n

    if len(sys.argv) > 2:  # a translator's part, not yet merged into the catalogue
        with open(sys.argv[2]) as part:
            i18n.translations("he")._catalog.update(json.load(part))
    run = page_in("he", sys.argv[1])
    for problem in run.exception:
        print("EXCEPTION:", problem.value)
    shown = shown_text(run)
    for text in untranslated(shown):
        print("ENGLISH:", repr(text[:160]))
    for text in mirrored(shown):
        print("BACKWARDS (wrap the numbers in core.i18n.ltr):", repr(text[:160]))
