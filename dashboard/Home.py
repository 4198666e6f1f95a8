"""Entry point: `streamlit run dashboard/Home.py` (from the repository root).

Only a router: the pages live in the top-level `pages/` folder, one file each, and are
listed in `dashboard/site.py`.
"""

import streamlit as st

from dashboard.site import PAGES

st.set_page_config(page_title="CNN Explainer", page_icon=":material/grid_on:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            str(page.file),
            title=page.title,
            icon=page.icon,
            url_path=page.url_path,
            default=(index == 0),
        )
        for index, page in enumerate(PAGES)
    ]
)
navigation.run()
