"""The drill page through AppTest: a link opens a given question with its answers hidden; the
issue's example (input 4, padding 1, kernel 3, stride 2; 2.5) is told it forgot the floor; score
and streak follow the answers; a bad link is ignored with a warning, shown as text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.convolution.drill import question_from_code
from dashboard.site import DRILL

EXAMPLE = "1-2011"  # 1D, input 4, kernel 3, padding 1, stride 2, with a bias


def page(**query: str) -> AppTest:
    app = AppTest.from_file(str(DRILL.file), default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def answer(app: AppTest, code: str, **answers: str) -> AppTest:
    for name, text in answers.items():
        app.text_input(key=f"answer_{name}_{code}").input(text)
    app.get("form_submit_button")[0].click()
    app.run()
    assert not app.exception, app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(str(m.value) for m in app.metric if m.label == label)


def test_the_link_opens_the_question_with_the_answers_hidden() -> None:
    q = question_from_code(EXAMPLE)
    assert (q.size, q.padding, q.kernel, q.stride) == ((4,), (1,), (3,), (2,))
    app = page(q=EXAMPLE)
    assert app.query_params["q"] in (EXAMPLE, [EXAMPLE])
    table = app.dataframe[0].value
    assert dict(zip(table["setting"], table["value"], strict=True))["input (C × L)"] == "1×4"
    assert not app.success and not app.error and not app.latex  # nothing revealed yet
    assert {t.label for t in app.text_input} == {
        "Output shape (C_out × L)",
        "Parameters (weights + biases)",
        "MACs (multiply-accumulates, no biases)",
        "Receptive field (input cells per axis)",
    }


def test_the_issue_example_is_told_it_forgot_the_floor() -> None:
    app = answer(page(q=EXAMPLE), EXAMPLE, shape="2.5", params="4", macs="6", field="3")
    shape_error = next(e.value for e in app.error if "output shape" in e.value)
    assert "**Forgot the floor:**" in shape_error and r"you typed 2\.5" in shape_error
    assert len(app.success) == 3  # the other three are right
    assert metric(app, "Score") == "0 / 1" and metric(app, "Streak") == "0"
    assert any(r"\left\lfloor\frac{4 + 2\cdot1 - 1\cdot(3-1)" in x.value for x in app.latex)
    link = next(m.value for m in app.markdown if "See this layer in the explorer" in m.value)
    assert "/convolution?mode=1D&op=convolution&h=1&w=4&kh=1&kw=3&ph=0&pw=1" in link


def test_score_and_streak_follow_the_answers() -> None:
    app = page(q="case-8")  # 7×7, kernel 3, dilation 2 -> 3×3
    app = answer(app, "case-8", shape="1×3×3", params="9", macs="81", field="5×5")
    assert len(app.success) == 4
    assert (metric(app, "Score"), metric(app, "Streak"), metric(app, "Best streak")) == (
        "1 / 1",
        "1",
        "1",
    )
    app.button(key="drill_next").click().run()
    code = app.query_params["q"]
    code = code[0] if isinstance(code, list) else code
    assert code.startswith("case-")  # the level of the link's question: the lecture's cases
    app = answer(app, code, shape="1×0×0")
    assert metric(app, "Score") == "1 / 2" and metric(app, "Streak") == "0"
    assert metric(app, "Best streak") == "1"


def test_a_level_three_question_and_its_transposed_kind() -> None:
    codes = [f"3-{seed}" for seed in range(40)]
    transposed = next(c for c in codes if question_from_code(c).transposed)
    app = page(q=transposed)
    assert len(app.text_input) == 3  # no receptive field for a transposed layer
    q = question_from_code(transposed)
    app = answer(app, transposed, shape=q.answer("shape"), params=str(q.params), macs=str(q.macs))
    assert len(app.success) == 3 and metric(app, "Streak") == "1"


def test_a_bad_link_is_ignored_and_shown_as_text() -> None:
    app = page(q="[click](https://evil.example)")
    warning = app.warning[0].value
    assert "Ignored the link's question" in warning and "\\[click\\]" in warning
    assert app.subheader[0].value.startswith("Lecture case")
