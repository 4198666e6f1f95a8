"""Convolution explorer: every hyperparameter, every number, the sliding window animated.

LESSON.md sections 2-6, and the convolutions the lecture leads to: groups and transposed
convolution. All arithmetic comes from core (core/convolution/layer.py: the settings'
effective sizes, the weights, the result and its numbers; code_twin); this page reads the
controls, calls core, and draws with dashboard helpers, one function a section.
The whole configuration lives in the URL (dashboard/convolution/state.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from core.convolution.code_twin import LayerSpec
from core.convolution.drill import layer_question
from core.convolution.layer import (
    LayerNumbers,
    LayerResult,
    LayerSetting,
    compute_layer,
    layer_numbers,
)
from core.i18n import DEFAULT, _, language, ltr
from dashboard.classroom_mode import current_viewer
from dashboard.convolution.code import show_code_twin
from dashboard.convolution.controls import EXPLORER_FRAGMENT, draw_controls
from dashboard.convolution.state import SPEEDS, keep_values, load_from_url, to_url
from dashboard.convolution.sums import (
    advice_for,
    conv_sum,
    error_text,
    feeds_text,
    output_name,
    pool_sum,
)
from dashboard.convolution.views import (
    LECTURE_CASES,
    kernel_stack_figure,
    kernel_stack_text,
    sliding_window_figure,
    window_text,
)
from dashboard.described import chart
from dashboard.language import with_language
from dashboard.text import plain
from dashboard.widgets import mnist_test_digits

state = st.session_state
if "conv_loaded" not in state:  # the link's configuration, once per visit
    state.conv_loaded = True
    state.conv_ignored = load_from_url(state, st.query_params)
keep_values(state)


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
        groups=1,
    )
    state.case = name


def language_link(path: str, **params: str) -> str:
    """A markdown link's target `(path?params)` that keeps the page's language."""
    query = urlencode(with_language(params) if language() != DEFAULT else params)
    return f"]({path}?{query})" if query else f"]({path})"


st.title(_("Convolution explorer"))
st.markdown(
    _(
        "Change the input, the kernel, padding, stride and dilation, and watch shapes, parameter"
        " counts and every single number follow. Press **▶ Play** to slide the window over the"
        " input; click an output cell to see its value written out as a sum of products, or an"
        " input cell to see every output cell it feeds. Below: the same layer in PyTorch."
        " Sure of the formulas? **[Test yourself in the drill](/drill)**: predict, then reveal."
    ).replace("](/drill)", language_link("/drill"))
)
if state.get("conv_ignored"):
    st.warning(
        _("Ignored part of the link: {parts}.").format(parts=plain(", ".join(state.conv_ignored)))
    )

st.caption(_("The eight cases of the lecture (Dumoulin and Visin), one click each:"))
# Two columns: the longest label needs about 250 px, which four columns only give on wide
# screens (at 1000 px, four were cut to "no padding, n...").
case_columns = st.columns(2)
for index, name in enumerate(LECTURE_CASES):
    case = LECTURE_CASES[name]
    case_columns[index % 2].button(
        "{name} ({sizes})".format(
            name=_(name),
            sizes=ltr(f"{case['size']}×{case['size']} → {case['out']}×{case['out']}"),
        ),
        key=f"case_{index}",
        on_click=apply_case,
        args=(name,),
        use_container_width=True,
    )


# The controls live in the sidebar: in a quarter of the page they were cut off ("convoluti",
# "True...") at 1000 px, and the figures get the whole width. They are drawn in full runs only:
# a control that changes no other control reruns just the explorer below (EXPLORER_FRAGMENT).
with st.sidebar:
    draw_controls()


@st.fragment(key=EXPLORER_FRAGMENT)
def explorer() -> None:
    """Everything the settings change: a control reruns only this, not the router, the
    header, the lecture cases and the controls above (benchmarks/classroom_load.py)."""
    url = with_language(to_url(state))
    if st.query_params.to_dict() != url:  # a new address only when the settings changed
        st.query_params.from_dict(url)
    setting = LayerSetting.from_values(state)
    rng = np.random.default_rng(state.seed)
    values = input_values(setting, rng)
    if values is None:
        return
    x, source_note = values
    try:  # never raise: settings without an output say why and how to fix them
        layer = compute_layer(setting, x, state.kernel, rng)
    except ValueError as error:
        message, advice = error_text(str(error)), advice_for(str(error))
        st.error(
            _("**No output with these settings:** {message}. To fix it: {advice}.").format(
                message=message, advice=advice
            ),
            icon=":material/block:",
        )
        return
    numbers = layer_numbers(setting, layer)
    show_numbers(setting, numbers)
    show_formulas(setting, layer, numbers)
    ask_the_class(setting)
    cell = show_window(setting, layer, source_note)
    show_sum(setting, layer, cell)
    show_code_twin(layer_spec(setting, x, layer, cell), layer.output)


def input_values(s: LayerSetting, rng: np.random.Generator) -> tuple[np.ndarray, str] | None:
    """The input [C_in, H, W] and a line saying where it came from (None: MNIST is missing)."""
    if state.src == "MNIST digit":
        digits = mnist_test_digits()
        if digits is None:
            st.error(
                _(
                    "MNIST is not ready: run `python -m core.model.mnist fetch`, or pick random "
                    "inputs."
                )
            )
            return None
        images, labels = digits
        digit = images[state.digit].astype(float) / 255.0
        rows = np.linspace(0, 27, s.height).round().astype(int) if s.height > 1 else np.array([14])
        cols = np.linspace(0, 27, s.width).round().astype(int)
        x = np.repeat(np.round(digit[np.ix_(rows, cols)], 2)[None], s.c_in, axis=0)
        source_note = _("test digit {index} (a {label}), sampled to {size}").format(
            index=state.digit, label=labels[state.digit], size=ltr(f"{s.height}×{s.width}")
        )
    else:
        x = rng.integers(0, 10, size=(s.c_in, s.height, s.width)).astype(float)
        source_note = _("random integers 0-9, seed {seed}").format(seed=state.seed)
    if state.src == "edit by hand":
        with st.expander(_("Edit the input values"), expanded=True):
            channel = st.number_input(_("Channel to edit"), 0, s.c_in - 1, 0, key="edit_channel")
            edited = st.data_editor(
                pd.DataFrame(x[channel]), key=f"edit_{x.shape}_{channel}", use_container_width=True
            )
            values = edited.to_numpy(dtype=float)
            if np.isfinite(values).all():
                x[channel] = values
            else:
                st.warning(
                    _("Empty or non-numeric cells are ignored; the original values are used.")
                )
        source_note = _("edited by hand")
    return x, source_note


def show_numbers(s: LayerSetting, numbers: LayerNumbers) -> None:
    (kh, kw), one_d, c_in, c_out = s.kernel, s.one_d, s.c_in, s.c_out
    out_h, out_w = numbers.out_size
    shape_text = f"{c_out}×{out_w}" if one_d else f"{c_out}×{out_h}×{out_w}"
    in_text = f"{c_in}×{s.width}" if one_d else f"{c_in}×{s.height}×{s.width}"
    # Two rows of three: five metrics in one row cut values off ("3×24...", "2,711..."). One
    # set of columns, two metrics stacked in the first two: the same grid in half the blocks.
    m1, m2, m3 = st.columns(3)
    m4, m5 = m1, m2
    m1.metric(_("Output shape"), shape_text, help=_("input {in_text}").format(in_text=ltr(in_text)))
    if s.pooling:
        m2.metric(_("Parameters"), "0", help=_("pooling learns nothing"))
        m3.metric(_("FC parameters"), "-", help=_("pooling has no weights to compare"))
        m4.metric(_("Operations"), f"{numbers.operations:,}", help=_("comparisons or additions"))
    else:
        kernel_text = f"{kw}" if one_d else f"{kh}·{kw}"
        channel_text = f"{c_in}/{s.groups}" if s.groups > 1 else f"{c_in}"
        m2.metric(
            _("Parameters"),
            f"{numbers.parameters:,}",
            help=f"C_in{'/g' if s.groups > 1 else ''}·C_out·K{'' if one_d else '_h·K_w'}"
            + (" + C_out" if s.bias else "")
            + f" = {channel_text}·{c_out}·{kernel_text}"
            + (f" + {c_out}" if s.bias else ""),
        )
        m3.metric(
            _("FC parameters"),
            f"{numbers.fc_parameters:,}",
            help=_(
                "weights of a fully connected layer with the same input and output sizes:"
                " N_in × N_out (+ N_out biases)"
            ),
        )
        if s.transposed:
            macs_help = _(
                "each input value times every weight of its group's kernels:"
                " C_in · positions_in · C_out/g · K (biases excluded; the plain convolution"
                " below also multiplies the inserted zeros, which a real implementation skips)"
            )
        else:
            macs_help = _("multiply-accumulates for one input, biases excluded")
        m4.metric(_("MACs"), f"{numbers.macs:,}", help=macs_help)
    if numbers.stretched is not None:
        hs, ws = numbers.stretched
        m5.metric(
            _("Stretched input"),
            f"{ws}" if one_d else f"{hs}×{ws}",
            help=_(
                "the input with stride − 1 zeros between its cells and d(k−1) − p zeros"
                " around it (+ output padding on the bottom/right): a plain stride-1 convolution"
                " over it gives the transposed convolution"
            ),
        )
    else:
        span_h, span_w = numbers.receptive_field
        m5.metric(
            _("Receptive field"),
            f"{span_w}" if one_d else f"{span_h}×{span_w}",
            help=_("input cells one output cell sees: d·(k−1)+1 per axis"),
        )


def size_formula(s: LayerSetting, axis: int, name: str, out: int) -> str:
    """The output-size formula of one axis (0: height, 1: width) with the numbers put in."""
    size = (s.height, s.width)[axis]
    k, p, st_, d = s.kernel[axis], s.padding[axis], s.stride[axis], s.dilation[axis]
    if s.transposed:
        return (
            rf"\text{{{name}}}_{{out}} = ({size} - 1)\cdot{st_} - 2\cdot{p} + {d}\cdot({k}-1)"
            rf" + {s.output_padding[axis]} + 1 = {out}"
        )
    return (
        rf"\text{{{name}}}_{{out}} = \left\lfloor \frac{{{size} + 2\cdot{p} - {d}\cdot"
        rf"({k}-1) - 1}}{{{st_}}} \right\rfloor + 1 = {out}"
    )


def show_formulas(s: LayerSetting, layer: LayerResult, numbers: LayerNumbers) -> None:
    out_h, out_w = numbers.out_size
    if s.transposed:
        st.caption(
            _(
                "Transposed convolution: out = (in − 1)·stride − 2·padding + dilation·(kernel − 1)"
                " + output padding + 1. It runs a convolution backwards: the same settings map"
                " the output size back to the input size."
            )
        )
    if not s.one_d:
        st.latex(size_formula(s, 0, "H", out_h))
    st.latex(size_formula(s, 1, "L" if s.one_d else "W", out_w))
    unused_rows, unused_cols = layer.shown.geometry.unused()
    if (unused_rows or unused_cols) and not s.transposed:
        parts = []
        if unused_rows and not s.one_d:
            parts.append(_("rows {numbers}").format(numbers=", ".join(map(str, unused_rows))))
        if unused_cols:
            numbers = ", ".join(map(str, unused_cols))
            parts.append(
                (_("positions {numbers}") if s.one_d else _("columns {numbers}")).format(
                    numbers=numbers
                )
            )
        st.warning(
            _(
                "The stride does not tile the input: input {join} are never reached by the window "
                "and are dropped (shaded red and crossed out below)."
            ).format(join=_(" and ").join(parts))
        )
    if state.get("case") in LECTURE_CASES:
        case = LECTURE_CASES[state.case]
        matches = (out_h, out_w) == (case["out"], case["out"]) and not s.one_d
        expected = ltr(f"{case['out']}×{case['out']}")
        (st.success if matches else st.info)(
            (
                _("Lecture case **{case}**: expected output {size} ✓")
                if matches
                else _(
                    "Lecture case **{case}**: expected output {size} (the settings were changed "
                    "since)"
                )
            ).format(case=_(state.case), size=expected)
        )


def ask_the_class(s: LayerSetting) -> None:
    """For the teacher: this layer as a question to the whole room (pages/quiz.py)."""
    if s.pooling or not current_viewer().teacher:
        return

    def axes(pair: tuple[int, int]) -> tuple[int, ...]:
        return (pair[1],) if s.one_d else pair

    try:
        question = layer_question(
            size=axes((s.height, s.width)),
            kernel=axes(s.kernel),
            padding=axes(s.padding),
            stride=axes(s.stride),
            dilation=axes(s.dilation),
            in_channels=s.c_in,
            out_channels=s.c_out,
            groups=s.groups,
            bias=s.bias,
            transposed=s.transposed,
            output_padding=axes(s.output_padding),
        )
    except ValueError:
        return
    st.markdown(
        _(
            ":material/campaign: [Ask the class about this layer](/quiz?q={code}): its output "
            "shape, parameters, MACs or receptive field, on the Class quiz page."
        )
        .format(code=question.code)
        .replace(f"](/quiz?q={question.code})", language_link("/quiz", q=question.code))
    )


def step_cell(delta: int, out_h: int, out_w: int) -> None:
    """Select the output cell `delta` places on in reading order (a button's callback)."""
    index = min(state.get("sel_i", 0), out_h - 1) * out_w + min(state.get("sel_j", 0), out_w - 1)
    state.sel_i, state.sel_j = divmod((index + delta) % (out_h * out_w), out_w)


def show_window(s: LayerSetting, layer: LayerResult, source_note: str) -> tuple[int, int, int]:
    """The animated sliding window and the cell pickers; returns the selected output cell
    (channel, row, column)."""
    one_d, shown, geometry = s.one_d, layer.shown, layer.shown.geometry
    out_h, out_w = geometry.out_size
    (ph, pw), (dh, dw) = s.padding, s.dilation
    # A click on an output cell (its clickable markers are trace 3) selects that cell; a click
    # on an input cell (trace 4) asks which output cells it feeds.
    points = (state.get("window") or {}).get("selection", {}).get("points", [])
    clicked = [(p.get("curve_number"), int(p["y"]), int(p["x"])) for p in points]
    if clicked and clicked != state.get("last_click"):
        curve, row, col = clicked[0]
        if curve == 3:
            state.sel_i, state.sel_j = row, col
        elif curve == 4:
            state.in_cell = (row, col)
    state.last_click = clicked
    s1, s2, s3 = st.columns(3)
    out_channel = (
        s1.number_input(_("Output channel"), 0, s.c_out - 1, 0, key="sel_o") if s.c_out > 1 else 0
    )
    sel_i = (
        0
        if one_d
        else s2.number_input(_("Output row"), 0, out_h - 1, min(state.get("sel_i", 0), out_h - 1))
    )
    sel_j = s3.number_input(
        _("Output column") if not one_d else _("Output position"),
        0,
        out_w - 1,
        min(state.get("sel_j", 0), out_w - 1),
    )
    state.sel_i, state.sel_j = sel_i, sel_j
    # Step the window one output cell back or on (row by row, wrapping round), from the
    # keyboard as well as the mouse: Play and the figure's own slider take a pointer.
    back, on, _rest = st.columns([1, 1, 2])
    back.button(
        _("Previous cell"),
        icon=":material/chevron_left:",
        key="cell_back",
        on_click=step_cell,
        args=(-1, out_h, out_w),
        use_container_width=True,
    )
    on.button(
        _("Next cell"),
        icon=":material/chevron_right:",
        key="cell_on",
        on_click=step_cell,
        args=(1, out_h, out_w),
        use_container_width=True,
    )
    in_channel = 0
    if s.c_in > 1:
        in_channel = st.radio(
            _("Input channel shown"), list(range(s.c_in)), horizontal=True, key="show_channel"
        )
    hp, wp = shown.padded.shape[1:]
    input_cell = state.get("in_cell")
    if input_cell is not None and not (input_cell[0] < hp and input_cell[1] < wp):
        input_cell = state.in_cell = None  # the input shrank under it
    # Short titles, one line each but for a second line of detail: long one-line titles ran
    # into each other over small maps ("(padding grey)output channel 0").
    shown_channel = out_channel if s.pooling else in_channel
    if s.transposed:
        title_in = _("stretched input, channel {channel}<br>(zeros grey)")
    elif ph or pw:
        title_in = _("padded input, channel {channel}<br>(padding grey)")
    else:
        title_in = _("input, channel {channel}")
    title_in = title_in.format(channel=shown_channel)
    title_out = (
        _("output, channel {channel}<br>after ReLU") if s.relu else _("output, channel {channel}")
    ).format(channel=out_channel)
    figure = sliding_window_figure(
        shown.padded[shown_channel],
        layer.output[out_channel],
        geometry,
        (sel_i, sel_j),
        SPEEDS[state.speed],
        title_in,
        title_out,
        real=layer.result.real if s.transposed else None,
        input_cell=input_cell,
    )
    summary, table = window_text(
        shown.padded[shown_channel],
        layer.output[out_channel],
        geometry,
        (sel_i, sel_j),
        output_name(out_channel, sel_i, sel_j, s.c_out, one_d),
        one_d,
    )
    chart(
        figure,
        summary=summary,
        table=table,
        key="window",
        on_select="rerun",
        selection_mode="points",
        config={"displayModeBar": False},
    )
    caption = (
        _(
            "Input: {source}. Solid red outlines: the taps of the selected output cell (spread"
            " apart by the dilation); Previous cell and Next cell step them, Play animates them"
            " over every output cell. Click an input cell: dashed black outlines show the output"
            " cells it feeds."
        )
        if dh > 1 or dw > 1
        else _(
            "Input: {source}. Solid red outlines: the taps of the selected output cell; Previous"
            " cell and Next cell step them, Play animates them over every output cell."
            " Click an input cell: dashed black outlines show the output cells it feeds."
        )
    ).format(source=source_note)
    if s.transposed:
        caption += " " + _(
            "Grey cells are the zeros the transposed convolution inserts between and around"
            " the input's cells; the plain convolution slides over all of them."
        )
    st.caption(caption)
    if input_cell is not None:
        r, c = input_cell
        if s.transposed:
            i, j = layer.result.source[r, c]
            label = (
                _("Input cell {name}").format(name=ltr(f"x[{j if one_d else f'{i},{j}'}]"))
                if i >= 0
                else _("This inserted zero (it adds nothing)")
            )
        elif geometry.is_padding(r, c):
            label = _("This padding cell (a zero)")
        else:
            index = c - pw if one_d else f"{r - ph},{c - pw}"
            label = _("Input cell {name}").format(name=ltr(f"x[{index}]"))
        a, b = st.columns([5, 1])
        a.info(feeds_text(geometry, input_cell, label, one_d), icon=":material/call_split:")
        if b.button(_("Clear"), key="clear_in_cell"):
            state.in_cell = None
            st.rerun()
    return out_channel, sel_i, sel_j


def show_sum(s: LayerSetting, layer: LayerResult, cell: tuple[int, int, int]) -> None:
    """The selected output cell's value written out, and the kernels that made it."""
    out_channel, sel_i, sel_j = cell
    name = output_name(out_channel, sel_i, sel_j, s.c_out, s.one_d)
    if s.pooling:
        st.code(
            pool_sum(layer.result, out_channel, sel_i, sel_j, name), language=None, wrap_lines=True
        )
        return
    shown = layer.shown
    st.code(
        conv_sum(shown, out_channel, sel_i, sel_j, name, s.bias, s.relu),
        language=None,
        wrap_lines=True,
    )
    if s.flip:
        st.caption(_("True convolution: the products use the flipped kernel, as shown below."))
    if s.transposed:
        st.caption(
            _(
                "The transposed kernels, flipped and regrouped as the plain convolution over the"
                " stretched input applies them."
            )
        )
    group_channels = shown.input_channels(out_channel)
    summary, table = kernel_stack_text(shown.weight[out_channel], group_channels)
    chart(
        kernel_stack_figure(
            shown.weight[out_channel],
            (
                _("kernel stack of output channel {channel} (flipped)")
                if s.flip or s.transposed
                else _("kernel stack of output channel {channel}")
            ).format(channel=out_channel),
            channels=group_channels,
        ),
        summary=summary,
        table=table,
        key="kernels",
        config={"displayModeBar": False},
    )
    (kh, kw), groups = s.kernel, s.groups
    if groups > 1:
        group = out_channel // (s.c_out // groups)
        st.markdown(
            (
                _(
                    "**{groups} groups:** output channel {out_channel} is in group {group} and "
                    "reads only input channels {first}–{last}, so its stack has {count} kernels "
                    "instead of {c_in}. Groups = channels is a depthwise convolution (see the "
                    "groups page)."
                )
                if len(group_channels) > 1
                else _(
                    "**{groups} groups:** output channel {out_channel} is in group {group} and "
                    "reads only input channels {first}–{last}, so its stack has 1 kernel instead "
                    "of {c_in}. Groups = channels is a depthwise convolution (see the groups "
                    "page)."
                )
            ).format(
                groups=groups,
                out_channel=out_channel,
                group=group,
                first=group_channels[0],
                last=group_channels[-1],
                count=len(group_channels),
                c_in=s.c_in,
            )
        )
    elif s.c_in > 1 or s.c_out > 1:
        st.markdown(
            _(
                "Each of the **{c_out}** output channels has its own stack of **{c_in}** kernels "
                "({kh}×{kw} each). The input channels' partial sums add up to one output value, "
                "and one bias is added per output channel."
            ).format(c_out=s.c_out, c_in=s.c_in, kh=kh, kw=kw)
        )


def layer_spec(
    s: LayerSetting, x: np.ndarray, layer: LayerResult, cell: tuple[int, int, int]
) -> LayerSpec:
    """The same layer for the PyTorch code twin."""
    if s.pooling:
        op = "max" if s.op == "max pooling" else "avg"
    else:
        op = "transposed" if s.transposed else "conv"
    return LayerSpec(
        op=op,
        dims=1 if s.one_d else 2,
        x=x,
        kernel=s.kernel,
        padding=s.padding,
        stride=s.stride,
        dilation=s.dilation,
        weight=layer.weight,
        bias=layer.bias,
        groups=s.groups,
        output_padding=s.output_padding,
        flip=s.flip,
        relu=s.relu,
        cell=cell,
    )


explorer()
