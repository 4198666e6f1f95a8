"""The class quiz, in SQLite: the teacher opens a question, every student answers it (and may
change the answer until it closes), the teacher closes it and reveals the working.

    quiz = QuizStore.open(runs_root)          # <runs root>/classroom-quiz.sqlite3, WAL
    qid = quiz.open_question("case-3", "shape")
    quiz.answer(qid, student, "1×5×5")        # graded by core.convolution.drill, as the drill
    quiz.results(qid)                          # counts, percent right, mistakes, wrong values
    quiz.close(qid); quiz.reveal(qid)

Why SQLite: every classroom worker (N Streamlit processes behind HAProxy) writes the same
answers, each write is a few hundred bytes, and a student's answer must survive a worker dying or
the classroom restarting. SQLite (Python's standard library) gives transactions across
processes on one machine, WAL mode (readers never wait for the writer), and a file that a
`cp` backs up. A schema version (`PRAGMA user_version`) and a list of migrations let a newer
version open an older class's file. Every failure (a corrupt file, a database locked past the
busy timeout, a full disk) is raised as QuizStoreError with a sentence for the page.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.convolution.drill import FIELD_NAMES, Question, grade, question_from_code
from core.i18n import N_, _, in_language

DB_FILE = "classroom-quiz.sqlite3"
BUSY_TIMEOUT_S = 10.0
STATES = ("open", "closed", "revealed")
MAX_ANSWER = 60  # characters kept of a typed answer
# Stored and counted in English, translated where shown (`_(NO_NAME)`), as the drill's names are.
NO_NAME = N_("no named mistake")  # a wrong answer the drill cannot put a name to
EMPTY = N_("(empty)")  # an empty answer among the wrong values
MIGRATIONS = (
    # 1: questions and answers
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        code TEXT NOT NULL,
        field TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'revealed')),
        opened REAL NOT NULL,
        closed REAL,
        revealed REAL
    );
    CREATE TABLE answers (
        question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
        student TEXT NOT NULL,
        text TEXT NOT NULL,
        correct INTEGER NOT NULL,
        mistake TEXT,
        message TEXT NOT NULL,
        answered REAL NOT NULL,
        changes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (question_id, student)
    );
    CREATE INDEX answers_by_question ON answers(question_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class QuizStoreError(RuntimeError):
    """The quiz database cannot be used; the message says why and what to do."""


class QuizClosedError(ValueError):
    """An answer to a question that is not open (closed, revealed, or none)."""


@dataclass(frozen=True)
class QuizQuestion:
    id: int
    code: str
    field: str
    state: str
    opened: float
    closed: float | None
    revealed: float | None

    @property
    def question(self) -> Question:
        return question_from_code(self.code)

    @property
    def prompt(self) -> str:
        return _("What is this layer's {field}?").format(field=_(FIELD_NAMES[self.field]))


@dataclass(frozen=True)
class QuizAnswer:
    student: str
    text: str
    correct: bool
    mistake: str | None
    message: str
    answered: float
    changes: int


@dataclass(frozen=True)
class QuizResults:
    question: QuizQuestion
    answers: int
    right: int
    mistakes: dict[str, int]  # named mistake (or NO_NAME) -> students, most first
    wrong_values: dict[str, int]  # typed wrong answer -> students, most first

    @property
    def percent_right(self) -> float | None:
        return 100.0 * self.right / self.answers if self.answers else None


def _explain(error: sqlite3.Error, path: Path) -> QuizStoreError:
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and "locked" in text:
        why = _("the quiz database {path} stayed locked for {seconds:g} s: try again").format(
            path=path, seconds=BUSY_TIMEOUT_S
        )
    elif isinstance(error, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text
    ):
        why = _(
            "the quiz database {path} is damaged ({error}): move it away (the quiz starts"
            " afresh) or restore a copy"
        ).format(path=path, error=text)
    elif "disk" in text or "full" in text:
        why = _("the quiz database {path} cannot be written ({error}): free some space").format(
            path=path, error=text
        )
    else:
        why = _("the quiz database {path} cannot be used ({error})").format(path=path, error=text)
    return QuizStoreError(why)


class QuizStore:
    """One connection per call (cheap in SQLite), so any thread or process may use it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, folder: Path) -> QuizStore:
        """The quiz of the runs folder `folder`, made and migrated to SCHEMA_VERSION."""
        store = cls(Path(folder) / DB_FILE)
        store.migrate()
        return store

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _run(self, work):
        """work(connection) inside one IMMEDIATE transaction; every sqlite error explained."""
        try:
            connection = self._connect()
        except sqlite3.Error as error:
            raise _explain(error, self.path) from None
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                value = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return value
        except sqlite3.Error as error:
            raise _explain(error, self.path) from None
        finally:
            connection.close()

    def migrate(self) -> int:
        """Bring the file to SCHEMA_VERSION (WAL mode); a newer file than this code is refused."""
        try:
            connection = self._connect()
            try:
                if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                    raise QuizStoreError(
                        _("the quiz database {path} cannot use WAL mode").format(path=self.path)
                    )
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise _explain(error, self.path) from None

        def work(connection: sqlite3.Connection) -> int:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise QuizStoreError(
                    _(
                        "the quiz database {path} is from a newer version (schema {version},"
                        " this one knows {known}): update the app"
                    ).format(path=self.path, version=version, known=SCHEMA_VERSION)
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return version

        return self._run(work)

    # -------------------------------------------------------------- the teacher
    def open_question(self, code: str, field: str) -> int:
        """Open a question (closing any other open one); returns its id."""
        question = question_from_code(code)  # ValueError for a bad code
        if field not in question.fields:
            raise ValueError(
                _("question {code} asks for {fields}, not {field}").format(
                    code=code, fields=", ".join(question.fields), field=field
                )
            )

        def work(connection: sqlite3.Connection) -> int:
            now = time.time()
            connection.execute(
                "UPDATE questions SET state = 'closed', closed = ? WHERE state = 'open'", (now,)
            )
            cursor = connection.execute(
                "INSERT INTO questions (code, field, state, opened) VALUES (?, ?, 'open', ?)",
                (question.code, field, now),
            )
            return int(cursor.lastrowid)

        return self._run(work)

    def close(self, question_id: int) -> None:
        self._set_state(question_id, "closed", "closed", ("open",))

    def reveal(self, question_id: int) -> None:
        self._set_state(question_id, "revealed", "revealed", ("open", "closed"))

    def _set_state(self, question_id: int, state: str, column: str, allowed: tuple) -> None:
        def work(connection: sqlite3.Connection) -> None:
            row = connection.execute(
                "SELECT state FROM questions WHERE id = ?", (question_id,)
            ).fetchone()
            if row is None:
                raise ValueError(f"no quiz question {question_id}")
            if row[0] not in allowed:
                return  # already there: a double click changes nothing
            now = time.time()
            connection.execute(
                f"UPDATE questions SET state = ?, {column} = ?,"
                " closed = COALESCE(closed, ?) WHERE id = ?",
                (state, now, now, question_id),
            )

        self._run(work)

    # -------------------------------------------------------------- the students
    def answer(self, question_id: int, student: str, text: str) -> QuizAnswer:
        """Record (or change) a student's answer, graded as the drill grades it. Raises
        QuizClosedError when the question is not open."""
        text = str(text).strip()[:MAX_ANSWER]
        if not student:
            raise ValueError("an answer needs a student")

        def work(connection: sqlite3.Connection) -> QuizAnswer:
            row = connection.execute(
                "SELECT code, field, state FROM questions WHERE id = ?", (question_id,)
            ).fetchone()
            if row is None or row[2] != "open":
                raise QuizClosedError(_("this question is closed: answers are no longer taken"))
            # Graded in English: the file is shared by readers of every language (each page
            # translates the named mistake, and grades a student's own answer again to show it).
            with in_language("en"):
                feedback = grade(question_from_code(row[0]), row[1], text)
            now = time.time()
            connection.execute(
                "INSERT INTO answers (question_id, student, text, correct, mistake, message,"
                " answered) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (question_id, student) DO UPDATE SET text = excluded.text,"
                " correct = excluded.correct, mistake = excluded.mistake,"
                " message = excluded.message, answered = excluded.answered,"
                " changes = answers.changes + 1",
                (
                    question_id,
                    student,
                    text,
                    int(feedback.correct),
                    feedback.mistake,
                    feedback.message,
                    now,
                ),
            )
            found = connection.execute(
                "SELECT changes FROM answers WHERE question_id = ? AND student = ?",
                (question_id, student),
            ).fetchone()
            return QuizAnswer(
                student,
                text,
                feedback.correct,
                feedback.mistake,
                feedback.message,
                now,
                int(found[0]),
            )

        return self._run(work)

    # -------------------------------------------------------------- reading
    def current(self) -> QuizQuestion | None:
        """The newest question (open, closed or revealed), or None before the first."""
        rows = self._run(
            lambda c: c.execute(
                "SELECT id, code, field, state, opened, closed, revealed FROM questions"
                " ORDER BY id DESC LIMIT 1"
            ).fetchall()
        )
        return QuizQuestion(*rows[0]) if rows else None

    def questions(self) -> list[QuizQuestion]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT id, code, field, state, opened, closed, revealed FROM questions"
                " ORDER BY id DESC"
            ).fetchall()
        )
        return [QuizQuestion(*row) for row in rows]

    def question(self, question_id: int) -> QuizQuestion:
        rows = self._run(
            lambda c: c.execute(
                "SELECT id, code, field, state, opened, closed, revealed FROM questions"
                " WHERE id = ?",
                (question_id,),
            ).fetchall()
        )
        if not rows:
            raise ValueError(f"no quiz question {question_id}")
        return QuizQuestion(*rows[0])

    def answer_of(self, question_id: int, student: str) -> QuizAnswer | None:
        rows = self._run(
            lambda c: c.execute(
                "SELECT student, text, correct, mistake, message, answered, changes FROM answers"
                " WHERE question_id = ? AND student = ?",
                (question_id, student),
            ).fetchall()
        )
        return _answer(rows[0]) if rows else None

    def answers(self, question_id: int) -> list[QuizAnswer]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT student, text, correct, mistake, message, answered, changes FROM answers"
                " WHERE question_id = ? ORDER BY answered",
                (question_id,),
            ).fetchall()
        )
        return [_answer(row) for row in rows]

    def results(self, question_id: int) -> QuizResults:
        question = self.question(question_id)
        answers = self.answers(question_id)
        wrong = [a for a in answers if not a.correct]
        return QuizResults(
            question=question,
            answers=len(answers),
            right=len(answers) - len(wrong),
            mistakes=dict(Counter(a.mistake or NO_NAME for a in wrong).most_common()),
            wrong_values=dict(Counter(a.text or EMPTY for a in wrong).most_common()),
        )

    def csv(self) -> str:
        """Every question and its results, one row each, for the teacher's records."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["question", "code", "asked", "state", "opened", "answers", "right", "percent right",
             "most common mistake"]
        )  # fmt: skip
        for question in self.questions():
            results = self.results(question.id)
            top = next(iter(results.mistakes), "")
            percent = results.percent_right
            writer.writerow(
                [
                    question.id,
                    question.code,
                    question.field,
                    question.state,
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(question.opened)),
                    results.answers,
                    results.right,
                    "" if percent is None else f"{percent:.0f}",
                    top,
                ]
            )
        return out.getvalue()


def _answer(row: tuple) -> QuizAnswer:
    student, text, correct, mistake, message, answered, changes = row
    return QuizAnswer(student, text, bool(correct), mistake, message, answered, int(changes))
