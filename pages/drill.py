"""Convolution drill: predict, then reveal.

A layer's settings are shown and its output shape, parameters, MACs and receptive field are
hidden until the student has typed them; core.drill grades each answer and names the mistake
where it can. Score and streak last for the visit; `?q=<code>` opens a given question.
"""

from __future__ import annotations

import random
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from core.convolution.drill import (
    FIELD_NAMES,
    LEVELS,
    Question,
    grade,
    next_code,
    question_from_code,
)
from dashboard.text import plain

state = st.session_state
LABELS = {
    "shape": "Output shape (C_out × H × W)",
    "params": "Parameters (weights + biases)",
    "macs": "MACs (multiply-accumulates, no biases)",
    "field": "Receptive field (input cells per axis)",
}
HINTS = {"shape": "e.g. 4×3×3", "params": "e.g. 84", "macs": "e.g. 1,296", "field": "e.g. 3×3"}


def level_of(code: str) -> str:
    return "lecture" if code.startswith("case-") else code.split("-")[0]


def new_question() -> None:
    """Draw the next question of the chosen level (a button and the level control call it)."""
    state.drill_code = next_code(state.drill_level, state.drill_rng, current=state.drill_code)


# ------------------------------------------------------------------ visit state and the link
if "drill_rng" not in state:
    state.drill_rng = random.Random()
    state.drill_score = [0, 0]  # right, answered
    state.drill_streak = state.drill_best = 0
    state.drill_feedback = {}  # code -> list of Feedback, for questions answered this visit
    state.drill_typed = {}  # code -> {field: the text typed}
    state.drill_link_note = None
    raw = st.query_params.get("q")
    try:
        state.drill_code = (
            question_from_code(raw).code if raw else next_code("lecture", state.drill_rng)
        )
    except ValueError as error:
        state.drill_link_note = str(error)
        state.drill_code = next_code("lecture", state.drill_rng)
    state.drill_level = level_of(state.drill_code)

question: Question = question_from_code(state.drill_code)
st.query_params.from_dict({"q": question.code})

st.title("Convolution drill")
st.markdown(
    "**Predict, then reveal.** Here is a layer; its output shape, parameter count, MACs and"
    " receptive field are hidden. Work them out (pen and paper welcome), type them, and check:"
    " a wrong answer is told which mistake it looks like: a forgotten floor, an ignored"
    " dilation, padding counted once, a forgotten bias, the wrong channels."
)
if state.drill_link_note:
    st.warning("Ignored the link's question: " + plain(state.drill_link_note) + ".")

# A radio wraps its options on narrow screens (a segmented control cut the last one off).
st.radio(
    "Questions from",
    list(LEVELS),
    format_func=lambda level: LEVELS[level],
    key="drill_level",
    on_change=new_question,
    horizontal=True,
)
right, answered = state.drill_score
a, b, c = st.columns(3)
a.metric("Score", f"{right} / {answered}", help="questions answered fully right this visit")
b.metric("Streak", state.drill_streak, help="fully right answers in a row")
c.metric("Best streak", state.drill_best)

st.subheader(question.title[:1].upper() + question.title[1:])
settings, form_column = st.columns(2, gap="large")
with settings:
    st.dataframe(
        pd.DataFrame(question.describe(), columns=["setting", "value"]),
        hide_index=True,
        width="stretch",
    )
    st.caption(f"Question `{question.code}`: this page's address opens it again.")

feedback = state.drill_feedback.get(question.code)
typed = state.drill_typed.get(question.code, {})
with form_column:
    if feedback is None:
        with st.form(f"drill_form_{question.code}"):
            for name in question.fields:
                label = LABELS[name]
                st.text_input(
                    label.replace("H × W", "L") if question.dims == 1 else label,
                    key=f"answer_{name}_{question.code}",
                    placeholder=HINTS[name],
                )
            submitted = st.form_submit_button("Check my answers", type="primary")
        if submitted:
            typed = {name: state[f"answer_{name}_{question.code}"] for name in question.fields}
            feedback = [grade(question, name, typed[name]) for name in question.fields]
            state.drill_feedback[question.code] = feedback
            state.drill_typed[question.code] = typed
            all_right = all(f.correct for f in feedback)
            state.drill_score = [state.drill_score[0] + all_right, state.drill_score[1] + 1]
            state.drill_streak = state.drill_streak + 1 if all_right else 0
            state.drill_best = max(state.drill_best, state.drill_streak)
            st.rerun()  # the score above counts this answer at once
    else:
        st.markdown("**Your answers**")
        st.markdown(
            "\n".join(
                f"- {'✓' if item.correct else '✗'} {FIELD_NAMES[item.field]}:"
                f" {plain(typed.get(item.field, '')) or '(none)'}"
                for item in feedback
            )
        )
    st.button("Next question", on_click=new_question, icon=":material/skip_next:", key="drill_next")

# ------------------------------------------------------------------ the reveal
if feedback is not None:
    st.subheader("Reveal")
    for item in feedback:
        label = FIELD_NAMES[item.field]
        if item.correct:
            st.success(f"**{label}: {plain(item.answer)}** ✓", icon=":material/check_circle:")
        else:
            mistake = (
                f"**{plain(item.mistake[:1].upper() + item.mistake[1:])}:** "
                if item.mistake
                else ""
            )
            st.error(
                f"**{label}: {plain(item.answer)}** (you typed"
                f" {plain(typed.get(item.field, '')) or 'nothing'}). {mistake}"
                + plain(item.message),
                icon=":material/cancel:",
            )
    with st.expander("How each number is worked out", expanded=True):
        for axis, (n, k, p, s, d) in enumerate(zip(*question._axes(), strict=True)):
            name = ("H", "W")[axis] if question.dims == 2 else "L"
            out = question.out_size[axis]
            if question.transposed:
                a = question.output_padding[axis]
                st.latex(
                    rf"{name}_{{out}} = ({n}-1)\cdot{s} - 2\cdot{p} + {d}\cdot({k}-1) + {a} + 1"
                    rf" = {out}"
                )
            else:
                st.latex(
                    rf"{name}_{{out}} = \left\lfloor\frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1)"
                    rf" - 1}}{{{s}}}\right\rfloor + 1 = {out}"
                )
        kernel = "·".join(map(str, question.kernel))
        per_in = (
            f"{question.in_channels}/{question.groups}"
            if question.groups > 1
            else str(question.in_channels)
        )
        bias = f" + {question.out_channels}" if question.bias else ""
        st.markdown(
            f"- **Parameters** = C_in/g · C_out · K + biases = {per_in} · {question.out_channels}"
            f" · {kernel}{bias} = **{question.params:,}**"
        )
        if question.transposed:
            positions = "·".join(map(str, question.size))
            per_out = (
                f"{question.out_channels}/{question.groups}"
                if question.groups > 1
                else str(question.out_channels)
            )
            st.markdown(
                f"- **MACs** = C_in · input positions · C_out/g · K = {question.in_channels} ·"
                f" {positions} · {per_out} · {kernel} = **{question.macs:,}** (each input value"
                " is spread over the output by every kernel of its group)"
            )
        else:
            positions = "·".join(map(str, question.out_size))
            st.markdown(
                f"- **MACs** = C_out · output positions · C_in/g · K = {question.out_channels} ·"
                f" {positions} · {per_in} · {kernel} = **{question.macs:,}**"
            )
            spans = " × ".join(
                f"{d}·({k}−1)+1" for k, d in zip(question.kernel, question.dilation, strict=True)
            )
            st.markdown(
                f"- **Receptive field** = d·(k−1)+1 per axis = {spans} ="
                f" **{question.answer('field')}**"
            )
    link = "/convolution?" + urlencode(question.explorer_query(), quote_via=quote)
    st.markdown(
        f":material/grid_on: **[See this layer in the explorer]({link})**: the window sliding,"
        " every sum written out, and the same layer in PyTorch."
    )
