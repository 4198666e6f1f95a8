"""Groups and causal convolution: two convolutions the lecture leads to.

Groups, up to depthwise: the kernel stacks split into groups, and the parameters and MACs of a
standard, a grouped and a depthwise-separable layer side by side (core.arithmetic). Causal 1D
convolution and a stack of dilated causal layers, the receptive field growing layer by layer,
one output cell's dependencies highlighted (core.causal). Settings live in the URL.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from core.convolution.arithmetic import causal_padding, conv_output_size, grouped_conv_costs
from core.convolution.causal import causal_stack
from core.i18n import _, ltr
from dashboard.convolution.families import (
    causal_stack_figure,
    causal_stack_text,
    groups_figure,
    groups_text,
)
from dashboard.described import chart, numbers_table
from dashboard.language import with_language
from dashboard.text import plain

state = st.session_state
# key: (default, low, high), read from the link once per visit.
SETTINGS = {
    "gc_in": (8, 1, 16),
    "gc_out": (16, 1, 32),
    "gc_k": (3, 1, 7),
    "gc_size": (16, 3, 64),
    "gc_groups": (2, 1, 16),
    "cz_length": (24, 4, 48),
    "cz_k": (2, 2, 4),
    "cz_layers": (4, 1, 5),
    "cz_pos": (23, 0, 47),
}
if "families_loaded" not in state:
    state.families_loaded = True
    ignored = []
    for key, (default, low, high) in SETTINGS.items():
        raw = st.query_params.get(key)
        try:
            value = default if raw is None else int(raw)
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            ignored.append(f"{key}={raw[:12]!r} (allowed {low}-{high})")
            value = default
        state[key] = value
    raw = st.query_params.get("cz_dilated")
    state.cz_dilated = raw != "0"
    state.families_ignored = ignored
for key, (default, *_range) in SETTINGS.items():
    state[key] = state.get(key, default)

st.title(_("Groups and causal convolution"))
st.markdown(
    _(
        "Two convolutions the lecture leads to. **Groups** split the channels so that each kernel"
        " reads only some of them, down to **depthwise** convolution, where each channel has its"
        " own kernel; MobileNet's **depthwise-separable** pair does the work of a standard layer"
        " for a fraction of the weights. **Causal** convolution pads on the left only, so an output"
        " never sees the future; stacking causal layers with dilations 1, 2, 4, ... (WaveNet, TCNs)"
        " doubles the receptive field with every layer. Transposed convolution has its own view in"
        " the explorer: **Operation → transposed convolution**."
    )
)
if state.families_ignored:
    st.warning(
        _("Ignored part of the link: {parts}.").format(
            parts=plain(", ".join(state.families_ignored))
        )
    )

# ------------------------------------------------------------------ groups
st.header(_("Groups, up to depthwise"))
a, b, c, d, e = st.columns(5)
a.number_input(_("In channels"), 1, 16, key="gc_in")
b.number_input(_("Out channels"), 1, 32, key="gc_out")
c.number_input(_("Kernel"), 1, 7, key="gc_k")
d.number_input(_("Input size"), 3, 64, key="gc_size", help=_("Height = width"))
c_in, c_out = state.gc_in, state.gc_out
divisors = [g for g in range(1, math.gcd(c_in, c_out) + 1) if c_in % g == 0 and c_out % g == 0]
if state.gc_groups not in divisors:  # only groups that divide both channel counts are offered
    state.gc_groups = max(g for g in divisors if g <= state.gc_groups)
e.select_slider(
    _("Groups"),
    divisors,
    key="gc_groups",
    help=_("Only the divisors of both channel counts: PyTorch requires them."),
)
groups, kernel = state.gc_groups, state.gc_k
try:
    out = conv_output_size(state.gc_size, kernel, padding=kernel // 2)
except ValueError:  # never for the offered ranges; kept so the page cannot crash
    out = 1
rows = grouped_conv_costs(c_in, c_out, (kernel, kernel), (out, out), groups, bias=True)
standard = rows[0]
figure_column, text_column = st.columns([2, 3], gap="large")
groups_summary, groups_table = groups_text(c_in, c_out, groups)
chart(
    groups_figure(c_in, c_out, groups),
    summary=groups_summary,
    where=figure_column,
    key="groups_figure",
    config={"displayModeBar": False},
)
text_column.markdown(
    (
        _(
            "Each of the **{c_out}** output channels has a stack of **{per_group}** kernels"
            " ({kernel}) over the **{per_group}** input channels of its group (a standard"
            " convolution: all of them). Output {shape} ('same' padding {padding}); biases"
            " included in the parameters, not in the MACs."
        )
        if groups == 1
        else _(
            "Each of the **{c_out}** output channels has a stack of **{per_group}** kernels"
            " ({kernel}) over the **{per_group}** input channels of its group. Output {shape}"
            " ('same' padding {padding}); biases included in the parameters, not in the MACs."
        )
    ).format(
        c_out=c_out,
        per_group=c_in // groups,
        kernel=ltr(f"{kernel}×{kernel}"),
        shape=ltr(f"{c_out}×{out}×{out}"),
        padding=kernel // 2,
    )
)
# The figure's numbers take the page's width (in the figure's column a column was cut off).
numbers_table(groups_table, key="groups_figure")
table = pd.DataFrame(
    {
        _("layer"): [
            _("standard {kernel}").format(kernel=ltr(f"{kernel}×{kernel}")),
            _("grouped, g = {groups}").format(groups=groups),
            _("depthwise {kernel} then 1×1").format(kernel=ltr(f"{kernel}×{kernel}")),
        ],
        _("parameters"): [r.params for r in rows],
        _("MACs"): [r.macs for r in rows],
        _("vs standard"): [
            f"{r.params / standard.params:.3f}× / {r.macs / standard.macs:.3f}×" for r in rows
        ],
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        _("parameters"): st.column_config.NumberColumn(format="localized"),
        _("MACs"): st.column_config.NumberColumn(format="localized"),
    },
)
if groups == c_in:
    text_column.caption(
        _("Groups = input channels = {c_in}: a **depthwise** convolution.").format(c_in=c_in)
    )
st.caption(
    _(
        "vs standard: parameters / MACs as a share of the standard layer's. Grouped: C_in/g ·"
        " C_out · K² + C_out parameters. Depthwise-separable: a depthwise layer"
        " (C_in · K² + C_in) and a 1×1 layer (C_in · C_out + C_out). All three counts are checked"
        " against torch's modules and FLOP counter in tests/core/convolution/test_arithmetic.py."
    )
)

# ------------------------------------------------------------------ causal
st.header(_("Causal convolution and dilated causal stacks"))
a, b, c = st.columns(3)
a.number_input(_("Sequence length"), 4, 48, key="cz_length")
b.number_input(_("Kernel size"), 2, 4, key="cz_k")
c.number_input(_("Layers"), 1, 5, key="cz_layers")
st.toggle(_("Dilations 1, 2, 4, ..."), key="cz_dilated", help=_("Off: every layer has dilation 1."))
length, k, layers = state.cz_length, state.cz_k, state.cz_layers
dilations = [2**n if state.cz_dilated else 1 for n in range(layers)]

points = (state.get("causal") or {}).get("selection", {}).get("points", [])
clicked = [int(p["x"]) for p in points if p.get("curve_number") == 2]
if clicked and clicked != state.get("causal_last"):
    state.cz_pos = clicked[0]
state.causal_last = clicked
state.cz_pos = min(state.cz_pos, length - 1)
st.slider(_("Output time step t to trace (or click a top cell)"), 0, length - 1, key="cz_pos")

rng = np.random.default_rng(0)
x = rng.integers(0, 10, size=length).astype(float)
weights = [np.full(k, 1.0 / k) for _ in dilations]  # moving averages: values stay readable
stack = causal_stack(x, weights, dilations)
fields = stack.receptive_fields
causal_summary, causal_table = causal_stack_text(stack, state.cz_pos)
chart(
    causal_stack_figure(stack, state.cz_pos),
    summary=causal_summary,
    table=causal_table,
    key="causal",
    on_select="rerun",
    selection_mode="points",
    config={"displayModeBar": False},
)
real_inputs = sum(1 for _cell, real in stack.dependencies(state.cz_pos)[0] if real)
st.markdown(
    (
        _(
            "Output t = {cz_pos} of layer {layers} depends on **{real_inputs}** input cells (t"
            " − {back} … t, cut at the start of the sequence): none after t. Each layer pads"
            " d·(k − 1) zeros on the left only, so it keeps the length and never looks ahead."
        )
        if real_inputs != 1
        else _(
            "Output t = {cz_pos} of layer {layers} depends on **{real_inputs}** input cell (t"
            " − {back} … t, cut at the start of the sequence): none after t. Each layer pads"
            " d·(k − 1) zeros on the left only, so it keeps the length and never looks ahead."
        )
    ).format(cz_pos=state.cz_pos, layers=layers, real_inputs=real_inputs, back=fields[-1] - 1)
)
growth = pd.DataFrame(
    {
        _("layer"): list(range(1, layers + 1)),
        _("dilation"): dilations,
        _("left padding d·(k−1)"): [causal_padding(k, dd) for dd in dilations],
        _("receptive field"): fields,
        _("weights so far"): [k * (n + 1) for n in range(layers)],
    }
)
st.dataframe(growth, hide_index=True, width="stretch")
st.caption(
    _(
        "Receptive field 1 + (k − 1)·Σd: with dilations 1, 2, 4, ... it doubles every layer "
        "({fields} cells after {layers} layers of {k} weights each); with dilation 1 it grows by "
        "k − 1 = {value} per layer ({value2} cells)."
    ).format(fields=fields[-1], layers=layers, k=k, value=k - 1, value2=1 + (k - 1) * layers)
)

st.query_params.from_dict(
    with_language(
        {
            **{key: str(state[key]) for key in SETTINGS},
            "cz_dilated": "1" if state.cz_dilated else "0",
        }
    )
)
