"""The convolution explorer's settings in the sidebar: operation, sizes, channels and groups,
kernel, padding (with presets), stride, dilation, output padding, flags, input and kernel values.

Every widget's key is a key of dashboard/convolution/state.py, so the URL carries all of it. A
control that changes no other control reruns only the explorer's fragment (EXPLORER_FRAGMENT): a
classroom of students changing numbers costs the server a fraction of full reruns. The
dimensions, the operation, the input source and the padding presets change which controls
exist or what they hold, so they rerun the whole page.
"""

from __future__ import annotations

import streamlit as st
from streamlit import config

from core.convolution.arithmetic import padding_preset
from core.convolution.layer import KERNEL_PRESETS_1D, KERNEL_PRESETS_2D
from core.i18n import N_, _
from dashboard.convolution.state import OPERATIONS, SOURCES, SPEEDS

state = st.session_state
EXPLORER_FRAGMENT = "explorer"


def rerun_explorer() -> None:
    """Rerun only the explorer (a widget callback's keyed rerun replaces the full rerun).

    Not under AppTest: it builds its element tree from one run's messages, so after a
    fragment-only run the sidebar's widgets would be missing from it; there a control reruns
    the whole page, as it did before. Browser tests and benchmarks/classroom_load.py (with
    its test) run the fragment path on a real server."""
    if not config.get_option("global.appTest"):
        st.rerun(EXPLORER_FRAGMENT)


def pooling_defaults() -> None:
    """Pooling's stride defaults to its window in PyTorch; start from that."""
    if "pooling" in state.op:
        state.sh, state.sw = state.kh, state.kw


def apply_padding() -> None:
    preset = state.pad_preset
    if preset:
        state.ph = padding_preset(preset, state.kh, state.dh)
        state.pw = padding_preset(preset, state.kw, state.dw)
    state.pad_preset = None  # acts as three buttons: the numbers below are the truth


def draw_controls() -> None:
    """The sidebar's widgets; they read and write `st.session_state` under their keys."""
    st.subheader(_("Settings"))
    mode = st.radio(_("Dimensions"), ("2D", "1D"), key="mode", horizontal=True)
    op = st.selectbox(
        _("Operation"), OPERATIONS, key="op", on_change=pooling_defaults, format_func=_
    )
    one_d = mode == "1D"
    pooling = "pooling" in op
    transposed = op == "transposed convolution"
    if one_d:
        st.number_input(_("Input length"), 1, 64, key="w", on_change=rerun_explorer)
    else:
        a, b = st.columns(2)
        a.number_input(_("Input height"), 1, 28, key="h", on_change=rerun_explorer)
        b.number_input(_("Input width"), 1, 64, key="w", on_change=rerun_explorer)
    a, b = st.columns(2)
    a.number_input(_("Input channels"), 1, 8, key="cin", on_change=rerun_explorer)
    if not pooling:
        b.number_input(_("Output channels"), 1, 8, key="cout", on_change=rerun_explorer)
        st.number_input(
            _("Groups"),
            1,
            8,
            key="groups",
            on_change=rerun_explorer,
            help=_(
                "Split the channels into groups: each output channel reads only the input"
                " channels of its group. Groups = input channels = output channels: depthwise."
            ),
        )
    if one_d:
        st.slider(_("Kernel size"), 1, 7, key="kw", on_change=rerun_explorer)
    else:
        st.slider(_("Kernel height"), 1, 7, key="kh", on_change=rerun_explorer)
        st.slider(_("Kernel width"), 1, 7, key="kw", on_change=rerun_explorer)
    st.segmented_control(
        _("Padding preset"),
        (N_("valid"), N_("same"), N_("full")),
        key="pad_preset",
        format_func=_,
        on_change=apply_padding,
        disabled=pooling or transposed,
        help=_("For stride 1: valid = 0, same keeps the size, full = span − 1"),
    )
    a, b = st.columns(2)
    if not one_d:
        a.number_input(_("Padding (rows)"), 0, 6, key="ph", on_change=rerun_explorer)
    b.number_input(
        _("Padding") if one_d else _("Padding (cols)"), 0, 6, key="pw", on_change=rerun_explorer
    )
    a, b = st.columns(2)
    if not one_d:
        a.number_input(_("Stride (rows)"), 1, 4, key="sh", on_change=rerun_explorer)
    b.number_input(
        _("Stride") if one_d else _("Stride (cols)"), 1, 4, key="sw", on_change=rerun_explorer
    )
    if op != "average pooling":
        a, b = st.columns(2)
        if not one_d:
            a.number_input(_("Dilation (rows)"), 1, 4, key="dh", on_change=rerun_explorer)
        b.number_input(
            _("Dilation") if one_d else _("Dilation (cols)"),
            1,
            4,
            key="dw",
            on_change=rerun_explorer,
        )
    if transposed:
        a, b = st.columns(2)
        help_op = _(
            "Extra rows/columns on the bottom/right; PyTorch wants it below the stride or"
            " the dilation"
        )
        if not one_d:
            a.number_input(
                _("Output padding (rows)"), 0, 3, key="oph", on_change=rerun_explorer, help=help_op
            )
        b.number_input(
            _("Output padding") if one_d else _("Output padding (cols)"),
            0,
            3,
            key="opw",
            on_change=rerun_explorer,
            help=help_op,
        )
    if not pooling:
        st.toggle(_("Bias"), key="bias", on_change=rerun_explorer)
    if op == "convolution":
        st.toggle(
            _("True convolution (flip the kernel)"),
            key="flip",
            on_change=rerun_explorer,
            help=_(
                "Deep learning's 'convolution' is cross-correlation; true convolution "
                "flips the kernel: y[n] = Σ x[n−m] w[m]."
            ),
        )
    if not pooling:
        st.toggle(_("ReLU"), key="relu", on_change=rerun_explorer)
    st.selectbox(_("Input values"), SOURCES, key="src", format_func=_)
    if state.src == "MNIST digit":
        st.number_input(_("Test digit index"), 0, 9999, key="digit", on_change=rerun_explorer)
    else:
        st.number_input(_("Seed"), 0, 9999, key="seed", on_change=rerun_explorer)
    if not pooling:
        presets = KERNEL_PRESETS_1D if one_d else KERNEL_PRESETS_2D
        if state.kernel not in presets:
            state.kernel = presets[0]
        st.selectbox(_("Kernel"), presets, key="kernel", on_change=rerun_explorer, format_func=_)
    st.select_slider(
        _("Animation speed"),
        tuple(SPEEDS),
        key="speed",
        on_change=rerun_explorer,
        format_func=_,
    )
