"""Classroom mode on the training page, with two students and the teacher as three AppTest
sessions on one runs folder: one run at a time per student, other students' runs read-only,
the teacher manages all. Real job processes; the test holds the only training slot, so
every run waits in the queue and nothing trains."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs.owners import owner_of
from core.runs.store import list_runs
from core.throttle import TEACHER_SIGN_IN
from core.training import jobs
from dashboard.site import TRAINING
from tests.job_helpers import hold_only_slot, kill_jobs

pytestmark = pytest.mark.mnist
TOKEN = "teacher-token-for-the-test"


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_mnist_dir: Path):
    root = tmp_path / "runs"
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    monkeypatch.setenv("CNN_CLASSROOM", "1")
    monkeypatch.setenv("CNN_TEACHER_TOKEN", TOKEN)
    monkeypatch.setenv("CNN_RUNS_PER_STUDENT", "1")
    slot = hold_only_slot(root)
    TEACHER_SIGN_IN.reset()  # one throttle per process, and AppTest runs pages in this one
    yield root
    TEACHER_SIGN_IN.reset()
    kill_jobs(root)
    os.close(slot)


def page(query: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(TRAINING.file), default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    return app


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.error] + [i.value for i in app.info]
    return " ".join(parts)


def stop_keys(app: AppTest) -> set[str]:
    return {b.key for b in app.button if b.key and b.key.startswith("stop_")}


def test_one_run_per_student_and_other_students_runs_are_read_only(runs_root: Path) -> None:
    alice = page()
    assert "you may have 1 run queued or training at a time" in texts(alice)
    assert button(alice, "Reproduce the sweep").disabled  # 3 runs, limit 1
    button(alice, "Quick demo").click().run()
    (alices_run,) = list_runs(runs_root)
    assert owner_of(alices_run) == alice.session_state["student_id"]

    # A second run for Alice is refused with a message, and nothing starts.
    button(alice, "Quick demo").click().run()
    assert "1 run per student" in texts(alice)
    assert len(list_runs(runs_root)) == 1
    assert not alice.exception

    # Bob sees Alice's run in the queue, without Stop, and may start his own.
    bob = page()
    assert f"stop_{alices_run.id}" not in stop_keys(bob)
    button(bob, "Quick demo").click().run()
    bobs_run = next(r for r in list_runs(runs_root) if r.id != alices_run.id)
    assert stop_keys(bob) == {f"stop_{bobs_run.id}"}
    assert "yours" in texts(bob) and "in the queue" in texts(bob)

    # Opened by its link, Alice's run is read-only for Bob: no Resume or Delete.
    bob_link = page({"run": alices_run.id})
    assert "started from another browser" in texts(bob_link)
    labels = {b.label for b in bob_link.button}
    assert "Resume" not in labels and "Delete" not in labels

    # Alice still has her Stop.
    alice.run()
    assert f"stop_{alices_run.id}" in stop_keys(alice)


def test_the_teacher_signs_in_and_manages_every_run(runs_root: Path) -> None:
    alice = page()
    button(alice, "Quick demo").click().run()
    (alices_run,) = list_runs(runs_root)

    teacher = page()
    assert f"stop_{alices_run.id}" not in stop_keys(teacher)  # not signed in yet: a student
    token_box = next(t for t in teacher.text_input if t.label == "Teacher token")
    token_box.input("wrong")
    button(teacher, "Sign in").click().run()
    assert "not this class's teacher token" in texts(teacher)
    assert f"stop_{alices_run.id}" not in stop_keys(teacher)

    token_box = next(t for t in teacher.text_input if t.label == "Teacher token")
    token_box.input(TOKEN)
    button(teacher, "Sign in").click().run()
    assert not teacher.exception
    assert "teacher's view" in texts(teacher)
    assert not button(teacher, "Reproduce the sweep").disabled
    teacher.button(key=f"stop_{alices_run.id}").click().run()
    deadline = time.monotonic() + 60
    while jobs.job_state(alices_run)["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs.job_state(alices_run)["state"] == "stopped"


def test_wrong_teacher_tokens_are_throttled(runs_root: Path, capfd) -> None:
    """20 wrong tokens in a row from one browser take at least 10 s (core/throttle.py: 15 s
    of waits), the page says why it waits, the worker's log has a line per try, and the
    right token still signs in, after its wait, and clears the count."""
    teacher = page()
    started = time.monotonic()
    for _ in range(20):
        next(t for t in teacher.text_input if t.label == "Teacher token").input("guess-guess-1")
        button(teacher, "Sign in").click().run(timeout=120)
        assert not teacher.exception
    took = time.monotonic() - started
    assert took >= 10.0, took
    assert "After 20 wrong tries from this browser, the next one waits 1.8 s" in texts(teacher)
    log = capfd.readouterr().err
    assert log.count("classroom: wrong teacher token from browser") == 20
    assert "(20 in a row); its next try waits 1.8 s" in log

    next(t for t in teacher.text_input if t.label == "Teacher token").input(TOKEN)
    button(teacher, "Sign in").click().run(timeout=120)
    assert "teacher's view" in texts(teacher)
    # The browser's own count is cleared; what is left is this worker's, for every browser:
    # 20 wrong tries, 10 past its free ones (core.throttle.WORKER_FREE_TRIES).
    assert TEACHER_SIGN_IN.delay(teacher.session_state["student_id"]) == pytest.approx(1.1)


def test_outside_classroom_mode_nothing_changes(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CNN_CLASSROOM")
    app = page()
    assert "Classroom" not in texts(app)
    assert not button(app, "Reproduce the sweep").disabled
    button(app, "Quick demo").click().run()
    button(app, "Quick demo").click().run()  # no per-student limit for the one user
    assert len(list_runs(runs_root)) == 2
    assert len(stop_keys(app)) == 2
