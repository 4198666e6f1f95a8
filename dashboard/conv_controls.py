"""The convolution explorer's settings in the sidebar: operation, sizes, channels and groups,
kernel, padding (with presets), stride, dilation, output padding, flags, input and kernel values.

Every widget's key is a key of dashboard/conv_state.py, so the URL carries all of it.
"""

from __future__ import annotations

import streamlit as st

from core.arithmetic import padding_preset
from dashboard.conv_state import OPERATIONS, SOURCES, SPEEDS
from dashboard.conv_views import KERNEL_PRESETS_1D, KERNEL_PRESETS_2D

state = st.session_state


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
    st.subheader("Settings")
    mode = st.radio("Dimensions", ("2D", "1D"), key="mode", horizontal=True)
    op = st.selectbox("Operation", OPERATIONS, key="op", on_change=pooling_defaults)
    one_d = mode == "1D"
    pooling = "pooling" in op
    transposed = op == "transposed convolution"
    if one_d:
        st.number_input("Input length", 1, 64, key="w")
    else:
        a, b = st.columns(2)
        a.number_input("Input height", 1, 28, key="h")
        b.number_input("Input width", 1, 64, key="w")
    a, b = st.columns(2)
    a.number_input("Input channels", 1, 8, key="cin")
    if not pooling:
        b.number_input("Output channels", 1, 8, key="cout")
        st.number_input(
            "Groups",
            1,
            8,
            key="groups",
            help="Split the channels into groups: each output channel reads only the input"
            " channels of its group. Groups = input channels = output channels: depthwise.",
        )
    if one_d:
        st.slider("Kernel size", 1, 7, key="kw")
    else:
        st.slider("Kernel height", 1, 7, key="kh")
        st.slider("Kernel width", 1, 7, key="kw")
    st.segmented_control(
        "Padding preset",
        ("valid", "same", "full"),
        key="pad_preset",
        on_change=apply_padding,
        disabled=pooling or transposed,
        help="For stride 1: valid = 0, same keeps the size, full = span − 1",
    )
    a, b = st.columns(2)
    if not one_d:
        a.number_input("Padding (rows)", 0, 6, key="ph")
    b.number_input("Padding" if one_d else "Padding (cols)", 0, 6, key="pw")
    a, b = st.columns(2)
    if not one_d:
        a.number_input("Stride (rows)", 1, 4, key="sh")
    b.number_input("Stride" if one_d else "Stride (cols)", 1, 4, key="sw")
    if op != "average pooling":
        a, b = st.columns(2)
        if not one_d:
            a.number_input("Dilation (rows)", 1, 4, key="dh")
        b.number_input("Dilation" if one_d else "Dilation (cols)", 1, 4, key="dw")
    if transposed:
        a, b = st.columns(2)
        help_op = (
            "Extra rows/columns on the bottom/right; PyTorch wants it below the stride or"
            " the dilation"
        )
        if not one_d:
            a.number_input("Output padding (rows)", 0, 3, key="oph", help=help_op)
        b.number_input(
            "Output padding" if one_d else "Output padding (cols)", 0, 3, key="opw", help=help_op
        )
    if not pooling:
        st.toggle("Bias", key="bias")
    if op == "convolution":
        st.toggle(
            "True convolution (flip the kernel)",
            key="flip",
            help="Deep learning's 'convolution' is cross-correlation; true convolution "
            "flips the kernel: y[n] = Σ x[n−m] w[m].",
        )
    if not pooling:
        st.toggle("ReLU", key="relu")
    st.selectbox("Input values", SOURCES, key="src")
    if state.src == "MNIST digit":
        st.number_input("Test digit index", 0, 9999, key="digit")
    else:
        st.number_input("Seed", 0, 9999, key="seed")
    if not pooling:
        presets = KERNEL_PRESETS_1D if one_d else KERNEL_PRESETS_2D
        if state.kernel not in presets:
            state.kernel = presets[0]
        st.selectbox("Kernel", presets, key="kernel")
    st.select_slider("Animation speed", tuple(SPEEDS), key="speed")
