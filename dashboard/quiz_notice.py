"""On every page in classroom mode, a line in the sidebar while a quiz question is open that this
student has not answered yet: "A quiz question is open: answer it". Read every NOTICE_SECONDS;
a quiz database that cannot be read shows nothing here (the Quiz page says why), so it never
takes another page down."""

from __future__ import annotations

import streamlit as st

from core.i18n import _, right_to_left
from core.quiz.store import DB_FILE, QuizStore, QuizStoreError
from core.runs.store import default_runs_dir
from dashboard.classroom_mode import classroom, current_viewer, student_id

NOTICE_SECONDS = 5.0


def open_question_notice() -> None:
    path = default_runs_dir() / DB_FILE
    if not path.is_file():
        return  # no quiz yet: nothing to read, nothing made
    try:
        quiz = QuizStore(path)
        current = quiz.current()
        if current is None or current.state != "open":
            return
        viewer = current_viewer()
        if viewer.teacher or quiz.answer_of(current.id, viewer.owner or student_id()):
            return
    except QuizStoreError:
        return
    prompt = current.prompt.rstrip("?")  # without its question mark
    if not right_to_left():  # "what is this layer's output shape": lower case is English's
        prompt = prompt.lower()
    st.info(
        _("**A quiz question is open** ({question}): [answer it](/quiz).").format(question=prompt),
        icon=":material/campaign:",
    )


def quiz_notice(page_path: str) -> None:
    """The sidebar notice, on every page but the quiz itself, in classroom mode only."""
    if not classroom().enabled or page_path == "quiz":
        return
    with st.sidebar:
        st.fragment(open_question_notice, run_every=NOTICE_SECONDS)()
