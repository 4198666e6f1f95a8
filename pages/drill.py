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
from core.i18n import DEFAULT, N_, _, language, ltr
from dashboard.classroom_mode import current_viewer
from dashboard.drill_working import show_working
from dashboard.language import with_language
from dashboard.text import plain

state = st.session_state
LABELS = {
    "shape": N_("Output shape (C_out × H × W)"),
    "params": N_("Parameters (weights + biases)"),
    "macs": N_("MACs (multiply-accumulates, no biases)"),
    "field": N_("Receptive field (input cells per axis)"),
}
LABELS_1D = {"shape": N_("Output shape (C_out × L)")}
HINTS = {
    "shape": N_("e.g. 4×3×3"),
    "params": N_("e.g. 84"),
    "macs": N_("e.g. 1,296"),
    "field": N_("e.g. 3×3"),
}


def shown(text: str) -> str:
    """A typed answer as shown: escaped, left to right; nothing typed stays empty."""
    escaped = plain(text)
    return ltr(escaped) if escaped else ""


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
st.query_params.from_dict(with_language({"q": question.code}))

st.title(_("Convolution drill"))
st.markdown(
    _(
        "**Predict, then reveal.** Here is a layer; its output shape, parameter count, MACs and"
        " receptive field are hidden. Work them out (pen and paper welcome), type them, and check:"
        " a wrong answer is told which mistake it looks like: a forgotten floor, an ignored"
        " dilation, padding counted once, a forgotten bias, the wrong channels."
    )
)
if state.drill_link_note:
    st.warning(
        _("Ignored the link's question: {reason}.").format(reason=plain(state.drill_link_note))
    )

# A radio wraps its options on narrow screens (a segmented control cut the last one off).
st.radio(
    _("Questions from"),
    list(LEVELS),
    format_func=lambda level: _(LEVELS[level]),
    key="drill_level",
    on_change=new_question,
    horizontal=True,
)
right, answered = state.drill_score
a, b, c = st.columns(3)
a.metric(_("Score"), f"{right} / {answered}", help=_("questions answered fully right this visit"))
b.metric(_("Streak"), state.drill_streak, help=_("fully right answers in a row"))
c.metric(_("Best streak"), state.drill_best)

st.subheader(question.title[:1].upper() + question.title[1:])
settings, form_column = st.columns(2, gap="large")
with settings:
    st.dataframe(
        pd.DataFrame(question.describe(), columns=[_("setting"), _("value")]),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        _("Question `{code}`: this page's address opens it again.").format(code=question.code)
    )
    if current_viewer().teacher:  # the teacher, or the one user of a plain `make run`
        st.markdown(
            _(":material/campaign: [Ask the whole class this question](/quiz?q={code})").format(
                code=question.code + ("" if language() == DEFAULT else f"&lang={language()}")
            )
        )

feedback = state.drill_feedback.get(question.code)
typed = state.drill_typed.get(question.code, {})
with form_column:
    if feedback is None:
        with st.form(f"drill_form_{question.code}"):
            for name in question.fields:
                label = LABELS_1D.get(name, LABELS[name]) if question.dims == 1 else LABELS[name]
                st.text_input(
                    _(label),
                    key=f"answer_{name}_{question.code}",
                    placeholder=_(HINTS[name]),
                )
            submitted = st.form_submit_button(_("Check my answers"), type="primary")
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
        st.markdown(_("**Your answers**"))
        none = _("(none)")
        st.markdown(
            "\n".join(
                f"- {'✓' if item.correct else '✗'} {_(FIELD_NAMES[item.field])}:"
                f" {shown(typed.get(item.field, '')) or none}"
                for item in feedback
            )
        )
    st.button(
        _("Next question"), on_click=new_question, icon=":material/skip_next:", key="drill_next"
    )

# ------------------------------------------------------------------ the reveal
if feedback is not None:
    st.subheader(_("Reveal"))
    # Graded again as shown: the messages follow the reader's language, even after a switch.
    for item in [grade(question, old.field, typed.get(old.field, "")) for old in feedback]:
        label = _(FIELD_NAMES[item.field])
        answer = ltr(plain(item.answer))
        if item.correct:
            st.success(f"**{label}: {answer}** ✓", icon=":material/check_circle:")
        else:
            name = _(item.mistake) if item.mistake else ""
            mistake = f"**{plain(name[:1].upper() + name[1:])}:** " if name else ""
            given = shown(typed.get(item.field, "")) or _("nothing")
            st.error(
                _("**{label}: {answer}** (you typed {given}). {mistake}").format(
                    label=label, answer=answer, given=given, mistake=mistake
                )
                + plain(item.message),
                icon=":material/cancel:",
            )
    with st.expander(_("How each number is worked out"), expanded=True):
        show_working(question)
    query = question.explorer_query()
    link = "/convolution?" + urlencode(
        with_language(query) if language() != DEFAULT else query, quote_via=quote
    )
    st.markdown(
        _(
            ":material/grid_on: **[See this layer in the explorer]({link})**: the window sliding, "
            "every sum written out, and the same layer in PyTorch."
        ).format(link=link)
    )
