"""The class quiz's SQLite store: open, answer, change, close, reveal; the drill's verdicts;
two processes writing at once; a restart; a damaged or newer file is a clear message."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.convolution.drill import grade, question_from_code
from core.quiz.store import (
    DB_FILE,
    SCHEMA_VERSION,
    QuizClosedError,
    QuizStore,
    QuizStoreError,
)

REPO = Path(__file__).resolve().parents[3]


def test_a_whole_question(tmp_path: Path) -> None:
    quiz = QuizStore.open(tmp_path)
    assert quiz.current() is None
    qid = quiz.open_question("case-4", "shape")  # full padding: 5 -> 7
    assert quiz.current().state == "open" and quiz.current().prompt.endswith("output shape?")
    quiz.answer(qid, "ann", "1×7×7")
    quiz.answer(qid, "bob", "1×5×5")
    first = quiz.answer(qid, "cat", "1x6x6")
    assert first.changes == 0
    changed = quiz.answer(qid, "cat", "1×7×7")  # changed before the close
    assert changed.changes == 1 and changed.correct
    results = quiz.results(qid)
    assert (results.answers, results.right) == (3, 2)
    assert results.percent_right == pytest.approx(200 / 3)
    assert results.wrong_values == {"1×5×5": 1}
    quiz.close(qid)
    with pytest.raises(QuizClosedError):
        quiz.answer(qid, "dan", "1×7×7")
    assert quiz.results(qid).answers == 3
    quiz.reveal(qid)
    quiz.reveal(qid)  # a double click changes nothing
    assert quiz.question(qid).state == "revealed" and quiz.question(qid).closed is not None
    assert quiz.answer_of(qid, "bob").text == "1×5×5"
    assert quiz.answer_of(qid, "nobody") is None
    second = quiz.open_question("case-8", "field")
    assert quiz.current().id == second and [q.id for q in quiz.questions()] == [second, qid]
    rows = quiz.csv().splitlines()
    assert rows[0].startswith("question,code") and len(rows) == 3 and ",case-4,shape," in rows[2]


def test_opening_a_question_closes_the_one_before(tmp_path: Path) -> None:
    quiz = QuizStore.open(tmp_path)
    first = quiz.open_question("case-1", "shape")
    quiz.open_question("case-2", "params")
    assert quiz.question(first).state == "closed"
    with pytest.raises(ValueError, match="not colour"):
        quiz.open_question("case-1", "colour")
    with pytest.raises(ValueError):
        quiz.open_question("no-such-code", "shape")


@pytest.mark.parametrize(
    "code,field,text",
    [
        ("case-4", "shape", "1×5×5"),
        ("case-5", "shape", "1×2.5×2.5"),  # no floor
        ("case-8", "shape", "1×5×5"),  # dilation ignored
        ("case-2", "shape", "1×4×4"),  # padding counted once
        ("3-17", "params", "12"),
        ("2-5", "macs", "100"),
        ("case-8", "field", "3×3"),
        ("1-3", "shape", "banana"),
    ],
)
def test_the_quiz_grades_as_the_drill_does(
    tmp_path: Path, code: str, field: str, text: str
) -> None:
    question = question_from_code(code)
    if field not in question.fields:
        field = question.fields[0]
    quiz = QuizStore.open(tmp_path)
    qid = quiz.open_question(code, field)
    answer = quiz.answer(qid, "ann", text)
    drill = grade(question, field, text)
    assert (answer.correct, answer.mistake, answer.message) == (
        drill.correct,
        drill.mistake,
        drill.message,
    )


WRITER = """
import sys
from core.quiz.store import QuizStore
quiz = QuizStore.open(sys.argv[1])
qid = int(sys.argv[2])
for i in range(int(sys.argv[4])):
    quiz.answer(qid, f"{sys.argv[3]}-{i}", "1×7×7" if i % 2 else "1×5×5")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    quiz = QuizStore.open(tmp_path)
    qid = quiz.open_question("case-4", "shape")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(qid), name, "150"], cwd=REPO
        )
        for name in ("worker1", "worker2")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    results = quiz.results(qid)
    assert results.answers == 300 and results.right == 150


def test_a_restart_keeps_every_answer_and_the_file_is_wal(tmp_path: Path) -> None:
    quiz = QuizStore.open(tmp_path)
    qid = quiz.open_question("case-1", "shape")
    quiz.answer(qid, "ann", "1×2×2")
    again = QuizStore.open(tmp_path)  # a new process would open it the same way
    assert again.answer_of(qid, "ann").correct and again.current().state == "open"
    with sqlite3.connect(tmp_path / DB_FILE) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert again.migrate() == SCHEMA_VERSION  # nothing left to migrate


def test_a_damaged_or_newer_file_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(QuizStoreError, match="is damaged"):
        QuizStore.open(tmp_path)
    newer = tmp_path / "newer"
    newer.mkdir()
    with sqlite3.connect(newer / DB_FILE) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(QuizStoreError, match="newer version"):
        QuizStore.open(newer)


def test_a_locked_database_is_a_sentence(tmp_path: Path, monkeypatch) -> None:
    from core.quiz import store

    quiz = QuizStore.open(tmp_path)
    qid = quiz.open_question("case-1", "shape")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another worker's long write
    try:
        with pytest.raises(QuizStoreError, match="stayed locked"):
            quiz.answer(qid, "ann", "1×2×2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert quiz.answer(qid, "ann", "1×2×2").correct
