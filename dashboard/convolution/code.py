"""The explorer's code twin on the page: the PyTorch script for what the page shows, a copy
button (st.code's own) and a download, with torch's agreement next to it.

The script is text from core.convolution.code_twin's template; the torch result beside it comes
from the same configuration through core.convolution.code_twin.torch_output, never from running
that text. Both are kept per configuration: students ask for the same layers again and again.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from core.convolution.code_twin import (
    TOLERANCE,
    Agreement,
    LayerSpec,
    agreement,
    printout,
    python_source,
)
from core.i18n import _, language, ltr
from dashboard.memo import Frozen, dataclass_key


def file_name(spec: LayerSpec) -> str:
    return f"explorer_{spec.layer_name.lower()}.py"


def _tick(ok: bool) -> str:
    return "✓" if ok else "✗"


@functools.lru_cache(maxsize=256)
def _source_and_check(
    spec_key: tuple,
    output_key: Frozen,
    language: str,  # noqa: ARG001 - the cache's key: the script's comments are in it
) -> tuple[str, Agreement | str]:
    """The script of a configuration and torch's agreement with the page's output (or why
    torch refused the configuration)."""
    spec = LayerSpec(**{name: v.array() if isinstance(v, Frozen) else v for name, v in spec_key})
    source = python_source(spec)
    try:
        return source, agreement(spec, output_key.array())
    except RuntimeError as error:  # torch refused what the page computed
        return source, str(error)


def show_code_twin(spec: LayerSpec, page_output: np.ndarray) -> None:
    """Draw the code twin of `spec`, whose page result is `page_output` [C, H, W]."""
    st.subheader(_("The same layer in PyTorch"), anchor="code-twin")
    source, check = _source_and_check(dataclass_key(spec), Frozen(page_output), language())
    if isinstance(check, str):  # torch refused what the page computed: say so
        st.error(
            _("torch refuses this configuration: {check}").format(check=check),
            icon=":material/block:",
        )
        st.code(source, language="python", height=420)
        return
    # The checks above the code, the code at full width: beside it, at 1000 px, the code's
    # lines were cut after 40 characters.
    index = ", ".join(map(str, spec.cell_index))
    torch_cell = "-" if check.torch_cell is None else f"{check.torch_cell + 0.0:.6g}"
    page_cell = "-" if check.page_cell is None else f"{check.page_cell + 0.0:.6g}"
    difference = "-" if not check.shape_equal else f"{check.max_difference:.3g}"
    shape_column, values_column, cell_column = st.columns(3)
    shape_column.markdown(
        _("{tick} **output shape**  \ntorch `{torch_shape}`, page `{page_shape}`").format(
            tick=_tick(check.shape_equal),
            torch_shape=check.torch_shape,
            page_shape=check.page_shape,
        )
    )
    values_column.markdown(
        _("{tick} **every value within {TOLERANCE:g}**  \nlargest difference: {difference}").format(
            tick=_tick(check.values_close), TOLERANCE=TOLERANCE, difference=ltr(difference)
        )
    )
    cell_column.markdown(
        _("{tick} **selected cell** `y[{index}]`  \ntorch {torch_cell}, page {page_cell}").format(
            tick=_tick(check.cell_equal),
            index=index,
            torch_cell=ltr(torch_cell),
            page_cell=ltr(page_cell),
        )
    )
    if check.ok:
        st.success(
            _("torch, running this layer itself, agrees with the page."),
            icon=":material/check_circle:",
        )
    else:
        st.error(
            _("torch and the page disagree: the checks above say where."), icon=":material/error:"
        )
    st.code(source, language="python", line_numbers=True, height=460)
    prints_column, download_column = st.columns([3, 2], vertical_alignment="center")
    with prints_column:
        st.caption(_("Running the file (`python {file}`) prints:").format(file=file_name(spec)))
        if check.shape_equal and check.page_cell is not None:
            st.code(printout(check.torch_shape, spec.cell_index, check.page_cell), language=None)
    with download_column:
        st.download_button(
            _("Download as .py"),
            source,
            file_name=file_name(spec),
            mime="text/x-python",
            icon=":material/download:",
            key="download_twin",
            on_click="ignore",  # a download changes nothing on the page: no rerun
        )
        st.caption(_("Copy: the button at the code's top right corner."))
