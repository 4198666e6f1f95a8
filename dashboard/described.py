"""Figures with their text equivalent (issue 25, WCAG 2.1 success criterion 1.1.1).

plotly draws an SVG that a screen reader cannot read, and Streamlit gives the app no way to put
an `aria-label` on it. So every figure of the app is drawn by `chart`, which adds, right after
the figure in the page's reading order:

- a one-sentence summary with the figure's numbers ("loss falls from 2.30 to 0.05 over 20
  epochs; best validation epoch 14"), as a caption that everyone sees;
- where a student would want them, the numbers behind the figure as a real HTML table
  (`st.table`, which a screen reader walks cell by cell, unlike the canvas of `st.dataframe`)
  in an expander, with a CSV download.

`tests/test_described.py` checks that no page or dashboard module calls `st.plotly_chart`
itself.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from core.i18n import _

# A table longer than this is cut in the page (the download keeps every row).
MAX_TABLE_ROWS = 60


def chart(
    figure: Any,
    *,
    summary: str,
    table: pd.DataFrame | None = None,
    where: Any = None,
    key: str,
    **plotly_options: Any,
) -> Any:
    """Draw `figure` (st.plotly_chart's arguments in `plotly_options`), then its summary and,
    when given, `table`. Returns what st.plotly_chart returns (the selection event)."""
    where = st if where is None else where
    event = where.plotly_chart(figure, key=key, **plotly_options)
    where.caption(summary)
    if table is not None:
        numbers_table(table, key=key, where=where)
    return event


def numbers_table(table: pd.DataFrame, *, key: str, where: Any = None) -> None:
    """`table` in an expander, as an HTML table (cut to MAX_TABLE_ROWS rows) and as CSV."""
    where = st if where is None else where
    with where.expander(_("The numbers behind this figure"), icon=":material/table:"):
        shown = table if len(table) <= MAX_TABLE_ROWS else table.head(MAX_TABLE_ROWS)
        st.table(shown)
        if len(table) > MAX_TABLE_ROWS:
            st.caption(
                _("The first {shown} of {total} rows; the download has them all.").format(
                    shown=MAX_TABLE_ROWS, total=len(table)
                )
            )
        st.download_button(
            _("Download as CSV"),
            table.to_csv(index=False),
            file_name=f"{_file_stem(key)}.csv",
            mime="text/csv",
            key=f"{key}__csv",
            icon=":material/download:",
        )


def _file_stem(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "figure"
