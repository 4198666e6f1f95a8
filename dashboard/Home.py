"""Entry point: `streamlit run dashboard/Home.py`, from any directory (the server's settings
are in `.streamlit/config.toml`, linked as `dashboard/.streamlit/config.toml`, which Streamlit
finds next to this script).

Only a router: the pages live in the top-level `pages/` folder, one file each, and are
listed in `dashboard/site.py`. Before routing, it refuses to serve a request that this
local-only server should not answer (`dashboard/serve.py`).
"""

import streamlit as st
from streamlit import config

from core.i18n import _
from dashboard.language import choose_language
from dashboard.quiz_notice import quiz_notice
from dashboard.serve import one_torch_thread, refusal
from dashboard.site import PAGES
from dashboard.style import app_style

st.set_page_config(page_title="CNN Explainer", page_icon=":material/grid_on:", layout="wide")


def _option(name: str, default):
    try:
        return config.get_option(name) or default
    except RuntimeError:  # a Streamlit that does not know the option
        return default


if not _option("global.appTest", False):  # AppTest runs scripts without any server
    problem = refusal(
        _option("server.address", ""),
        _option("server.allowedHosts", []),
        st.context.headers.get("Host"),
    )
    if problem:
        st.error(problem, icon=":material/block:")
        st.stop()
    one_torch_thread()  # the server's, not a test process's (AppTest runs in pytest's)

choose_language()  # before any text: every page's text follows it
app_style()
navigation = st.navigation(
    [
        st.Page(
            str(page.file),
            title=_(page.title),
            icon=page.icon,
            url_path=page.url_path,
            default=(index == 0),
        )
        for index, page in enumerate(PAGES)
    ]
)
quiz_notice(navigation.url_path)
navigation.run()
