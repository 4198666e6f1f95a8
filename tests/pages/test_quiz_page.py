"""The class quiz through AppTest: the teacher and three students, each their own session, through
a whole question; a student cannot open, close or reveal; the teacher's counts equal the answers
given; a damaged quiz database is a message on the Quiz page and leaves every other page alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.quiz.store import DB_FILE, QuizStore
from core.throttle import TEACHER_SIGN_IN
from dashboard.site import DRILL, QUIZ

TOKEN = "teacher-token-for-the-quiz"


@pytest.fixture
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    monkeypatch.setenv("CNN_CLASSROOM", "1")
    monkeypatch.setenv("CNN_TEACHER_TOKEN", TOKEN)
    TEACHER_SIGN_IN.reset()
    yield root
    TEACHER_SIGN_IN.reset()


def session(teacher: bool = False, query: dict | None = None) -> AppTest:
    app = AppTest.from_file(str(QUIZ.file), default_timeout=60)
    if teacher:
        app.session_state["teacher_token"] = TOKEN
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    return app


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def labels(app: AppTest) -> set[str]:
    return {b.label for b in app.button}


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.error] + [i.value for i in app.info]
    parts += [s.value for s in app.success] + [w.value for w in app.warning]
    return " ".join(parts).replace("\\", "").replace("**", "")  # escapes, bold


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def answer_box(app: AppTest):
    return [t for t in app.text_input if t.label == "Your answer"]


def answer(app: AppTest, text: str) -> None:
    answer_box(app)[0].set_value(text)
    next(b for b in app.button if b.label == "Send my answer").click().run()
    assert not app.exception


def test_a_whole_question_with_the_teacher_and_three_students(runs_root: Path) -> None:
    teacher = session(teacher=True)
    students = [session() for _ in range(3)]
    for student in students:
        assert "No question yet" in texts(student)
        assert not {"Open the question", "Close the question", "Reveal the working"} & labels(
            student
        )  # a student cannot open, close or reveal

    # Case 4 (full padding: 5 -> 7), its output shape.
    teacher.selectbox[0].set_value(4).run()
    button(teacher, "Open the question").click().run()
    assert not teacher.exception
    for student in students:
        student.run()
        assert "What is this layer's output shape?" in texts(student)

    answer(students[0], "1×7×7")
    answer(students[1], "1×5×5")  # padding forgotten
    answer(students[2], "1x6x6")
    answer(students[2], "1×9×9")  # changed before the close: padding counted twice, say
    assert "You may change it" in texts(students[2])

    teacher.run()
    assert metric(teacher, "Answers") == "3" and metric(teacher, "Right") == "1"
    assert metric(teacher, "Percent right") == "33%"
    quiz = QuizStore.open(runs_root)
    results = quiz.results(quiz.current().id)
    assert results.answers == 3 and set(results.wrong_values) == {"1×5×5", "1×9×9"}
    # The mistakes bar's text equivalent names each mistake with its count.
    summary = next(c.value for c in teacher.caption if c.value.startswith("Of 3 answers"))
    assert summary.count(": 1") == len(results.mistakes) == 2, summary
    wrong_table = next(df.value for df in teacher.dataframe if "answer" in df.value.columns)
    assert sorted(wrong_table["answer"]) == ["1×5×5", "1×9×9"]

    button(teacher, "Close the question").click().run()
    late = session()
    assert "Closed" in texts(late) and not answer_box(late)  # no answer box once it is closed
    button(teacher, "Reveal the working").click().run()
    assert "The answer: 1×7×7" in texts(teacher)

    for student, right in zip(students, (True, False, False), strict=True):
        student.run()
        shown = texts(student)
        assert "output shape: 1×7×7" in shown
        assert ("you had it" in shown) == right
    feedback = quiz.answer_of(quiz.current().id, students[1].session_state["student_id"])
    assert feedback.mistake  # the drill's name for it, shown to that student
    assert feedback.mistake[:1].upper() + feedback.mistake[1:] in texts(students[1])

    # The next question; the first one is listed with its results and the CSV.
    teacher.radio[0].set_value("a question code").run()
    next(t for t in teacher.text_input if t.label == "Code").set_value("case-8").run()
    button(teacher, "Open the question").click().run()
    past = next(df.value for df in teacher.dataframe if "most common mistake" in df.value.columns)
    assert list(past["question"]) == ["case-8", "case-4"]
    assert any(b.label == "Download as CSV" for b in teacher.get("download_button"))


def test_the_drill_links_a_question_to_the_quiz(runs_root: Path) -> None:
    teacher = session(teacher=True, query={"q": "2-41"})
    assert teacher.radio[0].value == "a question code"
    assert next(t for t in teacher.text_input if t.label == "Code").value == "2-41"
    drill = AppTest.from_file(str(DRILL.file), default_timeout=60)
    drill.run()
    assert "Ask the whole class this question" not in texts(drill)  # a student's drill
    drill = AppTest.from_file(str(DRILL.file), default_timeout=60)
    drill.session_state["teacher_token"] = TOKEN
    drill.run()
    assert "Ask the whole class this question" in texts(drill)


def test_a_damaged_quiz_database_is_a_message_not_a_trace(runs_root: Path) -> None:
    runs_root.mkdir(parents=True)
    (runs_root / DB_FILE).write_bytes(b"not a database " * 200)
    student = session()
    assert "The quiz is not available" in texts(student) and "is damaged" in texts(student)
    drill = AppTest.from_file(str(DRILL.file), default_timeout=60)
    drill.run()
    assert not drill.exception and not drill.error  # the other pages never notice


def test_the_explorer_asks_the_class_about_its_layer(runs_root: Path) -> None:
    from dashboard.site import CONVOLUTION

    explorer = AppTest.from_file(str(CONVOLUTION.file), default_timeout=60)
    explorer.session_state["teacher_token"] = TOKEN
    for key, value in {"h": "7", "w": "9", "ph": "1", "sw": "2", "cout": "4", "bias": "1"}.items():
        explorer.query_params[key] = value
    explorer.run()
    assert not explorer.exception
    link = next(m.value for m in explorer.markdown if "Ask the class about this layer" in m.value)
    code = link.split("/quiz?q=")[1].split(")")[0]
    teacher = session(teacher=True, query={"q": code})
    button(teacher, "Open the question").click().run()
    layer = QuizStore.open(runs_root).current().question
    assert (layer.size, layer.padding, layer.stride, layer.out_channels, layer.bias) == (
        (7, 9),
        (1, 0),
        (1, 2),
        4,
        True,
    )
    student = AppTest.from_file(str(CONVOLUTION.file), default_timeout=60)
    student.run()
    assert not any("Ask the class" in m.value for m in student.markdown)  # students: no link
