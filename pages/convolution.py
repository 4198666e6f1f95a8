"""Convolution explorer: every hyperparameter, every number, the sliding window animated.

LESSON.md sections 2-6. All arithmetic comes from core.arithmetic and core.conv; this page
reads the controls, calls core, and draws. The whole configuration lives in the URL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.arithmetic import (
    conv_macs,
    conv_param_count,
    dilated_kernel_span,
    fc_param_count,
    padding_preset,
)
from core.conv import conv2d, pool2d
from dashboard.conv_views import (
    KERNEL_PRESETS_1D,
    KERNEL_PRESETS_2D,
    LECTURE_CASES,
    kernel_preset,
    kernel_stack_figure,
    sliding_window_figure,
)
from dashboard.text import plain
from dashboard.widgets import mnist_test_digits

OPERATIONS = ("convolution", "max pooling", "average pooling")
SOURCES = ("random integers", "MNIST digit", "edit by hand")
SPEEDS = {"slow": 1200, "normal": 600, "fast": 200}
# (key, default, low, high): integers that live in the URL too.
INTEGERS = {
    "h": (5, 1, 28),
    "w": (5, 1, 64),
    "cin": (1, 1, 4),
    "cout": (1, 1, 4),
    "kh": (3, 1, 7),
    "kw": (3, 1, 7),
    "ph": (0, 0, 6),
    "pw": (0, 0, 6),
    "sh": (1, 1, 4),
    "sw": (1, 1, 4),
    "dh": (1, 1, 4),
    "dw": (1, 1, 4),
    "seed": (0, 0, 9999),
    "digit": (0, 0, 9999),
}
CHOICES = {
    "mode": ("2D", ("2D", "1D")),
    "op": ("convolution", OPERATIONS),
    "src": ("random integers", SOURCES),
    "kernel": ("random integers", KERNEL_PRESETS_2D + KERNEL_PRESETS_1D[2:]),
    "speed": ("normal", tuple(SPEEDS)),
}
FLAGS = {"bias": False, "flip": False, "relu": False}

state = st.session_state

# ------------------------------------------------------------------ URL -> state (once)
if "conv_loaded" not in state:
    state.conv_loaded = True
    ignored = []
    for key, (default, low, high) in INTEGERS.items():
        raw = st.query_params.get(key)
        try:
            value = int(raw) if raw is not None else default
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            ignored.append(f"{key}={raw[:12]!r} (allowed {low}-{high})")
            value = default
        state[key] = value
    for key, (default, allowed) in CHOICES.items():
        raw = st.query_params.get(key)
        if raw is not None and raw not in allowed:
            ignored.append(f"{key}={raw[:20]!r}")
        state[key] = raw if raw in allowed else default
    for key, default in FLAGS.items():
        raw = st.query_params.get(key)
        if raw is not None and raw not in ("0", "1"):
            ignored.append(f"{key}={raw[:12]!r} (allowed 0 or 1)")
        state[key] = raw == "1" if raw in ("0", "1") else default
    state.conv_ignored = ignored


# Streamlit forgets the value of a widget that a run does not draw (output channels while
# pooling, say); writing each value back at the top of every run keeps the configuration.
for key, (default, *_rest) in {**INTEGERS, **CHOICES}.items():
    state[key] = state.get(key, default)
for key, default in FLAGS.items():
    state[key] = state.get(key, default)


def apply_case(name: str) -> None:
    case = LECTURE_CASES[name]
    state.update(
        mode="2D",
        op="convolution",
        h=case["size"],
        w=case["size"],
        kh=case["kernel"],
        kw=case["kernel"],
        ph=case["padding"],
        pw=case["padding"],
        sh=case["stride"],
        sw=case["stride"],
        dh=case["dilation"],
        dw=case["dilation"],
        cin=1,
        cout=1,
    )
    state.case = name


def pooling_defaults() -> None:
    """Pooling's stride defaults to its window in PyTorch; start from that."""
    if state.op != "convolution":
        state.sh, state.sw = state.kh, state.kw


def apply_padding() -> None:
    preset = state.pad_preset
    if preset:
        state.ph = padding_preset(preset, state.kh, state.dh)
        state.pw = padding_preset(preset, state.kw, state.dw)
    state.pad_preset = None  # acts as three buttons: the numbers below are the truth


st.title("Convolution explorer")
st.markdown(
    "Change the input, the kernel, padding, stride and dilation, and watch shapes, parameter"
    " counts and every single number follow. Press **▶ Play** to slide the window over the"
    " input; pick an output cell to see its value written out as a sum of products."
)
if state.get("conv_ignored"):
    st.warning("Ignored part of the link: " + plain(", ".join(state.conv_ignored)) + ".")

st.caption("The eight cases of the lecture (Dumoulin and Visin), one click each:")
# Two columns: the longest label needs about 250 px, which four columns only give on wide
# screens (at 1000 px, four were cut to "no padding, n...").
case_columns = st.columns(2)
for index, name in enumerate(LECTURE_CASES):
    case = LECTURE_CASES[name]
    case_columns[index % 2].button(
        f"{name} ({case['size']}×{case['size']} → {case['out']}×{case['out']})",
        key=f"case_{index}",
        on_click=apply_case,
        args=(name,),
        use_container_width=True,
    )

# The controls live in the sidebar: in a quarter of the page they were cut off ("convoluti",
# "True...") at 1000 px, and the figures get the whole width.
controls, view = st.sidebar, st.container()
with controls:
    st.subheader("Settings")
    mode = st.radio("Dimensions", ("2D", "1D"), key="mode", horizontal=True)
    op = st.selectbox("Operation", OPERATIONS, key="op", on_change=pooling_defaults)
    one_d = mode == "1D"
    pooling = op != "convolution"
    if one_d:
        st.number_input("Input length", 1, 64, key="w")
    else:
        a, b = st.columns(2)
        a.number_input("Input height", 1, 28, key="h")
        b.number_input("Input width", 1, 64, key="w")
    a, b = st.columns(2)
    a.number_input("Input channels", 1, 4, key="cin")
    if not pooling:
        b.number_input("Output channels", 1, 4, key="cout")
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
        disabled=pooling,
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
    if not pooling:
        st.toggle("Bias", key="bias")
        st.toggle(
            "True convolution (flip the kernel)",
            key="flip",
            help="Deep learning's 'convolution' is cross-correlation; true convolution "
            "flips the kernel: y[n] = Σ x[n−m] w[m].",
        )
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

# ------------------------------------------------------------------ state -> URL
st.query_params.from_dict(
    {
        **{k: str(state[k]) for k in INTEGERS},
        **{k: state[k] for k in CHOICES},
        **{k: "1" if state[k] else "0" for k in FLAGS},
    }
)

# Effective sizes: a 1D signal is a 2D input of height 1 with a 1-tall kernel.
height = 1 if one_d else state.h
kh, ph, sh, dh = (1, 0, 1, 1) if one_d else (state.kh, state.ph, state.sh, state.dh)
kw, pw, sw, dw = state.kw, state.pw, state.sw, state.dw
if op == "average pooling":
    dh = dw = 1
c_in = state.cin
c_out = c_in if pooling else state.cout
rng = np.random.default_rng(state.seed)

# ------------------------------------------------------------------ input values
if state.src == "MNIST digit":
    digits = mnist_test_digits()
    if digits is None:
        view.error("MNIST is not ready: run `python -m core.data fetch`, or pick random inputs.")
        st.stop()
    images, labels = digits
    digit = images[state.digit].astype(float) / 255.0
    rows = np.linspace(0, 27, height).round().astype(int) if height > 1 else np.array([14])
    cols = np.linspace(0, 27, state.w).round().astype(int)
    x = np.repeat(np.round(digit[np.ix_(rows, cols)], 2)[None], c_in, axis=0)
    source_note = (
        f"test digit {state.digit} (a {labels[state.digit]}), sampled to {height}×{state.w}"
    )
else:
    x = rng.integers(0, 10, size=(c_in, height, state.w)).astype(float)
    source_note = f"random integers 0-9, seed {state.seed}"
if state.src == "edit by hand":
    with view.expander("Edit the input values", expanded=True):
        channel = st.number_input("Channel to edit", 0, c_in - 1, 0, key="edit_channel")
        edited = st.data_editor(
            pd.DataFrame(x[channel]), key=f"edit_{x.shape}_{channel}", use_container_width=True
        )
        values = edited.to_numpy(dtype=float)
        if np.isfinite(values).all():
            x[channel] = values
        else:
            st.warning("Empty or non-numeric cells are ignored; the original values are used.")
    source_note = "edited by hand"

# ------------------------------------------------------------------ compute (never raise)
try:
    if pooling:
        mode_name = "max" if op == "max pooling" else "avg"
        result = pool2d(x, (kh, kw), (sh, sw), (ph, pw), mode_name, (dh, dw))
        output = result.output
    else:
        kernels = np.stack(
            [
                np.stack([kernel_preset(state.kernel, kh, kw, rng) for _ in range(c_in)])
                for _ in range(c_out)
            ]
        )
        bias = rng.integers(-2, 3, size=c_out).astype(float) if state.bias else None
        result = conv2d(x, kernels, bias, (ph, pw), (sh, sw), (dh, dw), state.flip, state.relu)
        output = result.output
except ValueError as error:
    message = str(error)
    if "spans" in message:
        advice = "make the kernel or the dilation smaller, add padding, or enlarge the input"
    elif "half the kernel" in message:
        advice = "lower the padding to at most half the pooling window"
    elif "3x3" in message:
        advice = "set the kernel size to 3 × 3, or choose another kernel"
    else:
        advice = "change the control named in the message"
    view.error(
        f"**No output with these settings:** {message}. To fix it: {advice}.",
        icon=":material/block:",
    )
    st.stop()

geometry = result.geometry
out_h, out_w = geometry.out_size

# ------------------------------------------------------------------ the numbers
with view:
    span_h, span_w = dilated_kernel_span(kh, dh), dilated_kernel_span(kw, dw)
    shape_text = f"{c_out}×{out_w}" if one_d else f"{c_out}×{out_h}×{out_w}"
    in_text = f"{c_in}×{state.w}" if one_d else f"{c_in}×{height}×{state.w}"
    # Two rows of three: five metrics in one row cut values off ("3×24...", "2,711...").
    m1, m2, m3 = st.columns(3)
    m4, m5, _ = st.columns(3)
    m1.metric("Output shape", shape_text, help=f"input {in_text}")
    if pooling:
        m2.metric("Parameters", "0", help="pooling learns nothing")
        m3.metric("FC parameters", "-", help="pooling has no weights to compare")
        m4.metric(
            "Operations", f"{c_out * out_h * out_w * kh * kw:,}", help="comparisons or additions"
        )
    else:
        params = conv_param_count(c_in, c_out, (kh, kw), bias=state.bias)
        fc = fc_param_count(c_in * height * state.w, c_out * out_h * out_w, bias=state.bias)
        m2.metric(
            "Parameters",
            f"{params:,}",
            help=f"C_in·C_out·K{'' if one_d else '_h·K_w'}"
            + (" + C_out" if state.bias else "")
            + f" = {c_in}·{c_out}·"
            + (f"{kw}" if one_d else f"{kh}·{kw}")
            + (f" + {c_out}" if state.bias else ""),
        )
        m3.metric(
            "FC parameters",
            f"{fc:,}",
            help="weights of a fully connected layer with the same input and output sizes:"
            " N_in × N_out (+ N_out biases)",
        )
        m4.metric(
            "MACs",
            f"{conv_macs(c_in, c_out, (kh, kw), (out_h, out_w)):,}",
            help="multiply-accumulates for one input, biases excluded",
        )
    m5.metric(
        "Receptive field",
        f"{span_w}" if one_d else f"{span_h}×{span_w}",
        help="input cells one output cell sees: d·(k−1)+1 per axis",
    )

    def formula(axis: str, size: int, k: int, p: int, s: int, d: int, out: int) -> str:
        return (
            rf"\text{{{axis}}}_{{out}} = \left\lfloor \frac{{{size} + 2\cdot{p} - {d}\cdot"
            rf"({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"
        )

    if not one_d:
        st.latex(formula("H", height, kh, ph, sh, dh, out_h))
    st.latex(formula("L" if one_d else "W", state.w, kw, pw, sw, dw, out_w))
    unused_rows, unused_cols = geometry.unused()
    if unused_rows or unused_cols:
        parts = []
        if unused_rows and not one_d:
            parts.append(f"rows {', '.join(map(str, unused_rows))}")
        if unused_cols:
            parts.append(
                f"{'positions' if one_d else 'columns'} {', '.join(map(str, unused_cols))}"
            )
        st.warning(
            f"The stride does not tile the input: input {' and '.join(parts)} are never"
            " reached by the window and are dropped (shaded red below)."
        )
    if state.get("case") in LECTURE_CASES:
        case = LECTURE_CASES[state.case]
        matches = (out_h, out_w) == (case["out"], case["out"]) and not one_d
        (st.success if matches else st.info)(
            f"Lecture case **{state.case}**: expected output {case['out']}×{case['out']}"
            + (" ✓" if matches else " (the settings were changed since)")
        )

    # ---------------------------------------------------------- selection and animation
    # A click on an output cell (its clickable markers are trace 3) selects that cell.
    clicked = [
        (int(p["y"]), int(p["x"]))
        for p in (state.get("window") or {}).get("selection", {}).get("points", [])
        if p.get("curve_number") == 3
    ]
    if clicked and clicked != state.get("last_click"):
        state.sel_i, state.sel_j = clicked[0]
    state.last_click = clicked
    s1, s2, s3 = st.columns(3)
    out_channel = (
        s1.number_input("Output channel", 0, c_out - 1, 0, key="sel_o") if c_out > 1 else 0
    )
    sel_i = (
        0
        if one_d
        else s2.number_input("Output row", 0, out_h - 1, min(state.get("sel_i", 0), out_h - 1))
    )
    sel_j = s3.number_input(
        "Output column" if not one_d else "Output position",
        0,
        out_w - 1,
        min(state.get("sel_j", 0), out_w - 1),
    )
    state.sel_i, state.sel_j = sel_i, sel_j
    in_channel = 0
    if c_in > 1:
        in_channel = st.radio(
            "Input channel shown", list(range(c_in)), horizontal=True, key="show_channel"
        )
    output_map = output[out_channel]
    # Short titles, one line each but for a second line of detail: long one-line titles ran
    # into each other over small maps ("(padding grey)output channel 0").
    shown_channel = out_channel if pooling else in_channel
    title_in = ("padded input" if ph or pw else "input") + f", channel {shown_channel}"
    if ph or pw:
        title_in += "<br>(padding grey)"
    title_out = f"output, channel {out_channel}"
    if state.get("relu") and not pooling:
        title_out += "<br>after ReLU"
    figure = sliding_window_figure(
        result.padded[in_channel if not pooling else out_channel],
        output_map,
        geometry,
        (sel_i, sel_j),
        SPEEDS[state.speed],
        title_in,
        title_out,
    )
    st.plotly_chart(
        figure,
        key="window",
        on_select="rerun",
        selection_mode="points",
        config={"displayModeBar": False},
    )
    st.caption(
        f"Input: {source_note}. Red outlines: the taps of the selected output cell"
        + (" (spread apart by the dilation)" if dh > 1 or dw > 1 else "")
        + ". Play animates them over every output cell."
    )

    # ---------------------------------------------------------- the sum written out
    def cell(r: int, s: int) -> str:
        return f"{s - pw}" if one_d else f"{r - ph},{s - pw}"

    name = (
        "y"
        + (f"[{out_channel}," if c_out > 1 else "[")
        + (f"{sel_j}]" if one_d else f"{sel_i},{sel_j}]")
    )
    if pooling:
        terms = result.terms(out_channel, sel_i, sel_j)
        values = ", ".join(
            "pad" if geometry.is_padding(r, s) and mode_name == "max" else f"{v:g}"
            for _, _, r, s, v in terms
        )
        value = output[out_channel, sel_i, sel_j]
        text = (
            f"{name} = max({values}) = {value:g}"
            if mode_name == "max"
            else f"{name} = ({values.replace(', ', ' + ')}) / {len(terms)} = {value:.4g}"
        )
        st.code(text, language=None, wrap_lines=True)
    else:
        lines = []
        partials = result.partial[out_channel, :, sel_i, sel_j]
        terms = result.terms(out_channel, sel_i, sel_j)
        for c in range(c_in):
            products = [f"{v:g}·{w:g}" for ch, _, _, _, _, v, w in terms if ch == c]
            label = f"channel {c}: " if c_in > 1 else ""
            lines.append(f"{label}{' + '.join(products)} = {partials[c]:g}")
        total = result.pre_activation[out_channel, sel_i, sel_j]
        bias_text = f" + b ({result.bias[out_channel]:g})" if state.bias else ""
        if c_in > 1:
            lines.append(
                f"{name} = " + " + ".join(f"{p:g}" for p in partials) + f"{bias_text} = {total:g}"
            )
        elif state.bias:
            lines.append(f"{name} = {partials[0]:g}{bias_text} = {total:g}")
        else:
            lines[-1] = f"{name} = " + lines[-1]
        if state.relu:
            lines.append(f"ReLU: max({total:g}, 0) = {max(total, 0.0):g}")
        st.code("\n".join(lines), language=None, wrap_lines=True)
        if state.flip:
            st.caption("True convolution: the products use the flipped kernel, as shown below.")
        st.plotly_chart(
            kernel_stack_figure(
                result.weight[out_channel],
                f"kernel stack of output channel {out_channel}"
                + (" (flipped)" if state.flip else ""),
            ),
            key="kernels",
            config={"displayModeBar": False},
        )
        if c_in > 1 or c_out > 1:
            st.markdown(
                f"Each of the **{c_out}** output channels has its own stack of **{c_in}**"
                f" kernels ({kh}×{kw} each). The input channels' partial sums add up to one"
                " output value, and one bias is added per output channel."
            )
