"""Class quiz: the teacher puts one question to the whole room and sees which mistake it makes.

The teacher (the classroom's teacher token, or the single user of a plain `make run`) picks a
question (a lecture case, a random one at a level, a drill question, or any layer built in the
explorer: their "Ask the class" links), opens it, watches the answers arrive, closes it and
reveals the working.
Students see the open question within a few seconds, answer once (and may change it until it
closes), and after the reveal see their own answer marked as the drill marks it. Everything is
in core/quiz/store.py's SQLite file beside the runs, shared by every classroom worker.
"""

from __future__ import annotations

import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.convolution.drill import FIELD_NAMES, LECTURE_CASES, next_code, question_from_code
from core.quiz.store import QuizClosedError, QuizQuestion, QuizStore, QuizStoreError
from core.runs.store import default_runs_dir
from dashboard.classroom_mode import student_id, teacher_sign_in
from dashboard.drill_working import show_working
from dashboard.text import plain

REFRESH_SECONDS = 2.0  # the teacher's live counts
STUDENT_REFRESH_SECONDS = 3.0  # a student's page: the question appears within this
state = st.session_state
viewer = teacher_sign_in()
teacher = viewer.teacher  # outside classroom mode, the one user is the teacher
me = viewer.owner or student_id()

st.title("Class quiz")
st.markdown(
    "One question to the whole room: every student predicts, the teacher sees how many got it"
    " and **which mistake** the others made (a forgotten floor, an ignored dilation, padding"
    " counted once, ...), then reveals the working. The answers are graded exactly as the"
    " [drill](/drill) grades them."
)

try:
    quiz = QuizStore.open(default_runs_dir())
except QuizStoreError as error:
    st.error(f"The quiz is not available: {plain(error)}.", icon=":material/database:")
    st.stop()


def describe(question: QuizQuestion) -> None:
    layer = question.question
    left, right = st.columns([3, 2], gap="large")
    left.dataframe(
        pd.DataFrame(layer.describe(), columns=["setting", "value"]),
        hide_index=True,
        width="stretch",
    )
    right.markdown(f"#### {plain(question.prompt)}")
    right.caption(f"Question `{question.code}` ({plain(layer.title)}).")


# ------------------------------------------------------------------ the teacher
def ask_form() -> None:
    """Pick a question and open it."""
    link = st.query_params.get("q")
    with st.container(border=True):
        st.subheader("Ask the class")
        sources = ["a lecture case", "a random question", "a question code"]
        default = 2 if link else 0
        source = st.radio("Question", sources, index=default, horizontal=True, key="quiz_source")
        if source == "a lecture case":
            case = st.selectbox(
                "Case",
                range(1, len(LECTURE_CASES) + 1),
                format_func=lambda i: f"{i}. {LECTURE_CASES[i - 1][0]}",
                key="quiz_case",
            )
            code = f"case-{case}"
        elif source == "a random question":
            level = st.radio("Level", ["1", "2", "3"], horizontal=True, key="quiz_level")
            if state.get("quiz_random_level") != level:
                state.quiz_random_level = level
                state.quiz_random_code = next_code(level, random.Random())
            if st.button("Draw another", key="quiz_redraw", icon=":material/casino:"):
                state.quiz_random_code = next_code(level, random.Random(), state.quiz_random_code)
            code = state.quiz_random_code
        else:
            code = st.text_input("Code", value=link or "case-1", key="quiz_code").strip()
        try:
            layer = question_from_code(code)
        except ValueError as error:
            st.warning(f"Not a question code: {plain(error)}.")
            return
        field = st.radio(
            "Ask for",
            layer.fields,
            format_func=lambda name: FIELD_NAMES[name],
            horizontal=True,
            key=f"quiz_field_{code}",
        )
        st.caption(f"`{layer.code}`: {plain(layer.title)}")
        if st.button("Open the question", type="primary", icon=":material/campaign:"):
            try:
                quiz.open_question(layer.code, field)
            except (QuizStoreError, ValueError) as error:
                st.error(f"Could not open it: {plain(error)}.")
                return
            st.toast("The question is open: the class sees it within seconds", icon="📣")
            st.rerun()


def mistakes_figure(mistakes: dict[str, int]) -> go.Figure:
    names = list(mistakes)[::-1]
    figure = go.Figure(
        go.Bar(
            x=[mistakes[name] for name in names],
            y=names,
            orientation="h",
            marker_color="#dc2626",
            text=[mistakes[name] for name in names],
            textposition="auto",
            hovertemplate="%{y}: %{x} students<extra></extra>",
        )
    )
    figure.update_layout(
        height=70 + 36 * len(names),
        margin=dict(l=10, r=10, t=10, b=30),
        xaxis=dict(title="students", dtick=1, rangemode="tozero"),
        yaxis=dict(automargin=True),
    )
    return figure


def live_results() -> None:
    """The newest question: answers, percent right, the named mistakes, the wrong values."""
    try:
        current = quiz.current()
        results = quiz.results(current.id) if current else None
    except QuizStoreError as error:
        st.error(f"The quiz cannot be read: {plain(error)}.")
        return
    if current is None:
        st.info("No question asked yet.", icon=":material/campaign:")
        return
    state_text = {
        "open": "open: answers arrive live",
        "closed": "closed: no more answers",
        "revealed": "revealed to the class",
    }
    st.subheader(f"Question {current.id}: {state_text[current.state]}")
    describe(current)
    a, b, c = st.columns(3)
    a.metric("Answers", results.answers)
    b.metric("Right", results.right)
    percent = results.percent_right
    c.metric("Percent right", "-" if percent is None else f"{percent:.0f}%")
    if results.mistakes:
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.markdown("**The mistakes the room made**")
            st.plotly_chart(
                mistakes_figure(results.mistakes),
                key=f"mistakes_{current.id}",
                config={"displayModeBar": False},
            )
        with right:
            st.markdown("**Wrong answers given**")
            st.dataframe(
                pd.DataFrame(list(results.wrong_values.items()), columns=["answer", "students"]),
                hide_index=True,
                width="stretch",
            )
    elif results.answers:
        st.success("Every answer so far is right.", icon=":material/check_circle:")
    buttons = st.container(horizontal=True)
    if current.state == "open" and buttons.button(
        "Close the question", key=f"close_{current.id}", icon=":material/lock:"
    ):
        quiz.close(current.id)
        st.rerun()
    if current.state != "revealed" and buttons.button(
        "Reveal the working", key=f"reveal_{current.id}", icon=":material/visibility:"
    ):
        quiz.reveal(current.id)
        st.rerun()
    if current.state == "revealed":
        right = current.question.answer(current.field)
        st.success(f"The answer: **{plain(right)}**", icon=":material/check_circle:")


def past_questions() -> None:
    questions = quiz.questions()
    if len(questions) < 2 and not (questions and questions[0].state == "revealed"):
        return
    rows = []
    for question in questions:
        results = quiz.results(question.id)
        percent = results.percent_right
        rows.append(
            {
                "#": question.id,
                "question": question.code,
                "asked": FIELD_NAMES[question.field],
                "state": question.state,
                "answers": results.answers,
                "right": "-" if percent is None else f"{percent:.0f}%",
                "most common mistake": next(iter(results.mistakes), "-"),
            }
        )
    st.subheader("Questions so far")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.download_button(
        "Download as CSV",
        quiz.csv(),
        file_name="class-quiz.csv",
        mime="text/csv",
        icon=":material/download:",
    )


# ------------------------------------------------------------------ a student
def student_view() -> None:
    try:
        current = quiz.current()
        mine = quiz.answer_of(current.id, me) if current else None
    except QuizStoreError as error:
        st.error(f"The quiz cannot be read: {plain(error)}.")
        return
    if current is None:
        st.info(
            "No question yet: it appears here when the teacher opens one.",
            icon=":material/hourglass_empty:",
        )
        return
    describe(current)
    if current.state == "open":
        key = f"quiz_text_{current.id}"
        if key not in state:  # a reload shows the answer already given
            state[key] = mine.text if mine else ""
        with st.form(f"quiz_answer_{current.id}"):
            text = st.text_input(
                "Your answer",
                key=key,
                placeholder="e.g. 1×5×5" if current.field in ("shape", "field") else "e.g. 84",
            )
            sent = st.form_submit_button("Send my answer", type="primary")
        if sent:
            try:
                mine = quiz.answer(current.id, me, text)
            except QuizClosedError as error:
                st.warning(plain(error) + ".")
                return
            except QuizStoreError as error:
                st.error(f"Your answer could not be saved: {plain(error)}.")
                return
        if mine:
            st.caption(
                f"Your answer: **{plain(mine.text) or '(empty)'}**. You may change it until the"
                " teacher closes the question."
            )
        return
    if current.state == "closed":
        st.info(
            f"Closed. Your answer: **{plain(mine.text) if mine else 'none'}**; the teacher"
            " reveals the working next.",
            icon=":material/lock:",
        )
        return
    right = current.question.answer(current.field)
    label = FIELD_NAMES[current.field]
    if mine is None:
        st.info(f"You did not answer. The {label}: **{plain(right)}**.")
    elif mine.correct:
        st.success(f"**{label}: {plain(right)}** ✓ you had it.", icon=":material/check_circle:")
    else:
        mistake = (
            f"**{plain(mine.mistake[:1].upper() + mine.mistake[1:])}:** " if mine.mistake else ""
        )
        st.error(
            f"**{label}: {plain(right)}** (you answered {plain(mine.text) or 'nothing'})."
            f" {mistake}{plain(mine.message)}",
            icon=":material/cancel:",
        )
    with st.expander("How it is worked out", expanded=True):
        show_working(current.question)


if teacher:
    ask_form()
    st.fragment(live_results, run_every=REFRESH_SECONDS)()
    past_questions()
else:
    st.fragment(student_view, run_every=STUDENT_REFRESH_SECONDS)()
