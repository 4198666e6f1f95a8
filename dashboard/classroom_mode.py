"""This browser's rights in classroom mode (core/runs/owners.py): which student it is, and whether
the teacher's token was given in it.

The student is the `cnn_student` cookie the classroom proxy sets on a browser's first
request (classroom/), so a reload or a second tab of the same browser is the same student.
Without that cookie (a worker reached directly, or a test) the student is this session.
"""

from __future__ import annotations

import re
import sys
import time
import uuid

import streamlit as st

from core.i18n import _
from core.runs.owners import Classroom, Viewer
from core.throttle import TEACHER_SIGN_IN

STUDENT_COOKIE = "cnn_student"
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")


def classroom() -> Classroom:
    return Classroom.from_env()


def student_id() -> str:
    try:
        cookie = st.context.cookies.get(STUDENT_COOKIE)
    except Exception:  # noqa: BLE001 - no request context (AppTest): fall back to the session
        cookie = None
    if isinstance(cookie, str) and _COOKIE_VALUE.match(cookie):
        return cookie
    if "student_id" not in st.session_state:
        st.session_state.student_id = f"session-{uuid.uuid4().hex}"
    return st.session_state.student_id


def current_viewer() -> Viewer:
    settings = classroom()
    if not settings.enabled:
        return settings.viewer(None)
    return settings.viewer(student_id(), st.session_state.get("teacher_token"))


def teacher_sign_in() -> Viewer:
    """In classroom mode, a small sidebar box where the teacher enters the token; returns the
    viewer as it stands after it."""
    settings = classroom()
    if not settings.enabled:
        return settings.viewer(None)
    with st.sidebar:
        viewer = current_viewer()
        if viewer.teacher:
            st.success(_("Teacher: you see and manage every run."), icon=":material/school:")
            if st.button(_("Sign out"), key="teacher_sign_out"):
                st.session_state.teacher_token = None
                st.rerun()
        else:
            with st.expander(_("Teacher"), icon=":material/school:"):
                with st.form("teacher_form", border=False):
                    token = st.text_input(_("Teacher token"), type="password")
                    if st.form_submit_button(_("Sign in")):
                        check_token(settings, token)
    return current_viewer()


def check_token(settings: Classroom, token: str) -> None:
    """Sign in with `token`, after the delay this browser's (and this worker's) wrong tries
    have earned (core/throttle.py); a wrong token is said, counted and logged."""
    browser = student_id()
    wait = TEACHER_SIGN_IN.delay(browser)
    if wait > 0:
        with st.spinner(
            _("Checking the token in {seconds:.1f} s (after wrong tries, each waits)").format(
                seconds=wait
            )
        ):
            time.sleep(wait)
    if settings.is_teacher_token(token):
        TEACHER_SIGN_IN.succeeded(browser)
        st.session_state.teacher_token = token
        st.rerun()
    failures = TEACHER_SIGN_IN.failed(browser)
    following = TEACHER_SIGN_IN.delay(browser)
    # One line in the worker's log (the classroom's state folder), for the teacher to see.
    print(
        f"classroom: wrong teacher token from browser {browser[:8]} ({failures} in a row);"
        f" its next try waits {following:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    message = _("That is not this class's teacher token.")
    if following > 0:
        message += " " + _(
            "After {failures} wrong tries from this browser, the next one waits"
            " {seconds:.1f} s (longer after each wrong one)."
        ).format(failures=failures, seconds=following)
    st.error(message)
