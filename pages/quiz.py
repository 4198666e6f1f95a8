"""Class quiz: the teacher puts one question to the whole room and sees which mistake it makes.

The teacher (the classroom's teacher token, or the single user of a plain `make run`) picks a
question (a lecture case, a random one at a level, a drill question, or any layer built in the
explorer: their "Ask the class" links), opens it, watches the answers arrive, closes it and
reveals the working.
Students see the open question within a few seconds, answer once (and may change it until it
closes), and after the reveal see their own answer marked as the drill marks it. Everything is
in core/quiz/store.py's SQLite file beside the runs, shared by every classroom worker.

The store keeps every answer's named mistake and message in English (one file for readers of
every language); this page translates a named mistake when it shows it, and grades a student's
own answer again, in the reader's language, for the message after the reveal.
"""

from __future__ import annotations

import random

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.convolution.drill import FIELD_NAMES, LECTURE_CASES, grade, next_code, question_from_code
from core.i18n import N_, _, ltr
from core.quiz.store import EMPTY, QuizClosedError, QuizQuestion, QuizStore, QuizStoreError
from core.runs.store import default_runs_dir
from dashboard.classroom_mode import student_id, teacher_sign_in
from dashboard.described import chart
from dashboard.drill_working import show_working
from dashboard.text import plain

REFRESH_SECONDS = 2.0  # the teacher's live counts
STUDENT_REFRESH_SECONDS = 3.0  # a student's page: the question appears within this
SOURCES = (N_("a lecture case"), N_("a random question"), N_("a question code"))
STATE_TEXT = {
    "open": N_("open: answers arrive live"),
    "closed": N_("closed: no more answers"),
    "revealed": N_("revealed to the class"),
}
STATE_NAMES = {"open": N_("open"), "closed": N_("closed"), "revealed": N_("revealed")}
state = st.session_state
viewer = teacher_sign_in()
teacher = viewer.teacher  # outside classroom mode, the one user is the teacher
me = viewer.owner or student_id()

st.title(_("Class quiz"))
st.markdown(
    _(
        "One question to the whole room: every student predicts, the teacher sees how many got it"
        " and **which mistake** the others made (a forgotten floor, an ignored dilation, padding"
        " counted once, ...), then reveals the working. The answers are graded exactly as the"
        " [drill](/drill) grades them."
    )
)

try:
    quiz = QuizStore.open(default_runs_dir())
except QuizStoreError as error:
    st.error(
        _("The quiz is not available: {error}.").format(error=plain(error)),
        icon=":material/database:",
    )
    st.stop()


def field_name(field: str) -> str:
    return _(FIELD_NAMES[field])


def mistake_name(mistake: str) -> str:
    """A stored (English) named mistake, or the store's NO_NAME, in the reader's language."""
    return _(mistake)


def wrong_value(text: str) -> str:
    return _(EMPTY) if text == EMPTY else text


def describe(question: QuizQuestion) -> None:
    layer = question.question
    left, right = st.columns([3, 2], gap="large")
    left.dataframe(
        pd.DataFrame(layer.describe(), columns=[_("setting"), _("value")]),
        hide_index=True,
        width="stretch",
    )
    right.markdown(f"#### {plain(question.prompt)}")
    right.caption(
        _("Question `{code}` ({title}).").format(code=question.code, title=plain(layer.title))
    )


# ------------------------------------------------------------------ the teacher
def ask_form() -> None:
    """Pick a question and open it."""
    link = st.query_params.get("q")
    with st.container(border=True):
        st.subheader(_("Ask the class"))
        sources = list(SOURCES)
        default = 2 if link else 0
        source = st.radio(
            _("Question"),
            sources,
            index=default,
            horizontal=True,
            key="quiz_source",
            format_func=_,
        )
        if source == "a lecture case":
            case = st.selectbox(
                _("Case"),
                range(1, len(LECTURE_CASES) + 1),
                format_func=lambda i: f"{i}. {_(LECTURE_CASES[i - 1][0])}",
                key="quiz_case",
            )
            code = f"case-{case}"
        elif source == "a random question":
            level = st.radio(_("Level"), ["1", "2", "3"], horizontal=True, key="quiz_level")
            if state.get("quiz_random_level") != level:
                state.quiz_random_level = level
                state.quiz_random_code = next_code(level, random.Random())
            if st.button(_("Draw another"), key="quiz_redraw", icon=":material/casino:"):
                state.quiz_random_code = next_code(level, random.Random(), state.quiz_random_code)
            code = state.quiz_random_code
        else:
            code = st.text_input(_("Code"), value=link or "case-1", key="quiz_code").strip()
        try:
            layer = question_from_code(code)
        except ValueError as error:
            st.warning(_("Not a question code: {error}.").format(error=plain(error)))
            return
        field = st.radio(
            _("Ask for"),
            layer.fields,
            format_func=field_name,
            horizontal=True,
            key=f"quiz_field_{code}",
        )
        st.caption(f"`{layer.code}`: {plain(layer.title)}")
        if st.button(_("Open the question"), type="primary", icon=":material/campaign:"):
            try:
                quiz.open_question(layer.code, field)
            except (QuizStoreError, ValueError) as error:
                st.error(_("Could not open it: {error}.").format(error=plain(error)))
                return
            st.toast(_("The question is open: the class sees it within seconds"), icon="📣")
            st.rerun()


def mistakes_figure(mistakes: dict[str, int]) -> go.Figure:
    names = list(mistakes)[::-1]
    students = _("students")
    figure = go.Figure(
        go.Bar(
            x=[mistakes[name] for name in names],
            y=[mistake_name(name) for name in names],
            orientation="h",
            marker_color="#dc2626",
            text=[mistakes[name] for name in names],
            textposition="auto",
            hovertemplate=f"%{{y}}: %{{x}} {students}<extra></extra>",
        )
    )
    figure.update_layout(
        height=70 + 36 * len(names),
        margin=dict(l=10, r=10, t=10, b=30),
        xaxis=dict(title=students, dtick=1, rangemode="tozero"),
        yaxis=dict(automargin=True),
    )
    return figure


def mistakes_text(mistakes: dict[str, int], answers: int) -> str:
    """The mistakes bar in words: the commonest named mistake and how many made each."""
    ranked = sorted(mistakes.items(), key=lambda item: -item[1])
    parts = [
        _("{mistake}: {count}").format(mistake=mistake_name(name), count=count)
        for name, count in ranked
    ]
    return _("Of {answers} answers, the named mistakes: {parts}.").format(
        answers=answers, parts="; ".join(parts)
    )


def live_results() -> None:
    """The newest question: answers, percent right, the named mistakes, the wrong values."""
    try:
        current = quiz.current()
        results = quiz.results(current.id) if current else None
    except QuizStoreError as error:
        st.error(_("The quiz cannot be read: {error}.").format(error=plain(error)))
        return
    if current is None:
        st.info(_("No question asked yet."), icon=":material/campaign:")
        return
    st.subheader(
        _("Question {number}: {state}").format(
            number=current.id, state=_(STATE_TEXT[current.state])
        )
    )
    describe(current)
    a, b, c = st.columns(3)
    a.metric(_("Answers"), results.answers)
    b.metric(_("Right"), results.right)
    percent = results.percent_right
    c.metric(_("Percent right"), "-" if percent is None else f"{percent:.0f}%")
    if results.mistakes:
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.markdown(_("**The mistakes the room made**"))
            chart(
                mistakes_figure(results.mistakes),
                summary=mistakes_text(results.mistakes, results.answers),
                key=f"mistakes_{current.id}",
                config={"displayModeBar": False},
            )
        with right:
            st.markdown(_("**Wrong answers given**"))
            st.dataframe(
                pd.DataFrame(
                    [(wrong_value(text), count) for text, count in results.wrong_values.items()],
                    columns=[_("answer"), _("students")],
                ),
                hide_index=True,
                width="stretch",
            )
    elif results.answers:
        st.success(_("Every answer so far is right."), icon=":material/check_circle:")
    buttons = st.container(horizontal=True)
    if current.state == "open" and buttons.button(
        _("Close the question"), key=f"close_{current.id}", icon=":material/lock:"
    ):
        quiz.close(current.id)
        st.rerun()
    if current.state != "revealed" and buttons.button(
        _("Reveal the working"), key=f"reveal_{current.id}", icon=":material/visibility:"
    ):
        quiz.reveal(current.id)
        st.rerun()
    if current.state == "revealed":
        right = current.question.answer(current.field)
        st.success(
            _("The answer: **{answer}**").format(answer=ltr(plain(right))),
            icon=":material/check_circle:",
        )


def past_questions() -> None:
    questions = quiz.questions()
    if len(questions) < 2 and not (questions and questions[0].state == "revealed"):
        return
    rows = []
    for question in questions:
        results = quiz.results(question.id)
        percent = results.percent_right
        top = next(iter(results.mistakes), None)
        rows.append(
            {
                "#": question.id,
                _("question"): question.code,
                _("asked"): field_name(question.field),
                _("state"): _(STATE_NAMES[question.state]),
                _("answers"): results.answers,
                _("right"): "-" if percent is None else f"{percent:.0f}%",
                _("most common mistake"): "-" if top is None else mistake_name(top),
            }
        )
    st.subheader(_("Questions so far"))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.download_button(
        _("Download as CSV"),
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
        st.error(_("The quiz cannot be read: {error}.").format(error=plain(error)))
        return
    if current is None:
        st.info(
            _("No question yet: it appears here when the teacher opens one."),
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
                _("Your answer"),
                key=key,
                placeholder=_("e.g. 1×5×5")
                if current.field in ("shape", "field")
                else _("e.g. 84"),
            )
            sent = st.form_submit_button(_("Send my answer"), type="primary")
        if sent:
            try:
                mine = quiz.answer(current.id, me, text)
            except QuizClosedError as error:
                st.warning(plain(error) + ".")
                return
            except QuizStoreError as error:
                st.error(_("Your answer could not be saved: {error}.").format(error=plain(error)))
                return
        if mine:
            st.caption(
                _(
                    "Your answer: **{answer}**. You may change it until the teacher closes the"
                    " question."
                ).format(answer=ltr(plain(mine.text)) if mine.text else _("(empty)"))
            )
        return
    if current.state == "closed":
        given = (ltr(plain(mine.text)) if mine.text else "") if mine else _("none")
        st.info(
            _("Closed. Your answer: **{answer}**; the teacher reveals the working next.").format(
                answer=given
            ),
            icon=":material/lock:",
        )
        return
    right = ltr(plain(current.question.answer(current.field)))
    label = field_name(current.field)
    if mine is None:
        st.info(
            _("You did not answer. The {field}: **{answer}**.").format(field=label, answer=right)
        )
    elif mine.correct:
        st.success(
            _("**{field}: {answer}** ✓ you had it.").format(field=label, answer=right),
            icon=":material/check_circle:",
        )
    else:
        mistake = ""
        if mine.mistake:
            name = mistake_name(mine.mistake)
            mistake = f"**{plain(name[:1].upper() + name[1:])}:** "
        st.error(
            _("**{field}: {answer}** (you answered {given}). {mistake}{message}").format(
                field=label,
                answer=right,
                given=ltr(plain(mine.text)) if mine.text else _("nothing"),
                mistake=mistake,
                message=plain(own_message(current, mine)),
            ),
            icon=":material/cancel:",
        )
    with st.expander(_("How it is worked out"), expanded=True):
        show_working(current.question)


def own_message(current: QuizQuestion, mine) -> str:
    """The drill's message on this student's answer, in the reader's language: the answer graded
    again here (the stored message is English, for every reader's page)."""
    try:
        return grade(current.question, current.field, mine.text).message
    except ValueError:
        return mine.message


if teacher:
    ask_form()
    st.fragment(live_results, run_every=REFRESH_SECONDS)()
    past_questions()
else:
    st.fragment(student_view, run_every=STUDENT_REFRESH_SECONDS)()
