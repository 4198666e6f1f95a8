"""Untrusted text (from a URL, a file, a form) shown in Streamlit's markdown as the text itself.

Streamlit renders `st.markdown`, `st.warning`, `st.error`, captions and the like as markdown,
with links, autolinks (`https://...`), images, LaTeX (`$...$`), colour directives (`:red[...]`)
and icons (`:material/...:`). `?run=[Log in again](https://evil.example)` echoed into a warning
would be a clickable link inside the app's own message. CommonMark lets any ASCII punctuation be
escaped with a backslash, so escaping all of it leaves no markup at all.
"""

from __future__ import annotations

import string

_PUNCTUATION = frozenset(string.punctuation)


def plain(text: object) -> str:
    """`text` (any object, via str) escaped so that markdown shows it literally: no link,
    emphasis, code, heading, HTML, math, colour directive or icon."""
    return "".join("\\" + char if char in _PUNCTUATION else char for char in str(text))
