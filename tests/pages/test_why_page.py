"""The "Why it errs" page through AppTest: each view on a trained run, the errors gallery's
link to it, links with bad values, a damaged run; and its figures."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.analysis import background
from core.analysis.evaluate import evaluate_run
from core.analysis.robustness import EPSILONS
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import ERRORS, WHY
from dashboard.why.charts import braille, embedding_figure

RUN = "why-run"


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("why-runs")
    train(TrainConfig(epochs=1, train_subset=16_384, seed=0), root / RUN)
    return root


def why_page(runs_root: Path, monkeypatch, **query: str) -> AppTest:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(WHY.file), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.mark.mnist
def test_attribution_view_explains_the_linked_test_digit(runs_root: Path, monkeypatch) -> None:
    app = why_page(runs_root, monkeypatch, run=RUN, index="18")
    evaluation = evaluate_run(open_run(runs_root / RUN))
    predicted = int(evaluation.predictions[18])
    assert app.number_input(key="why_index").value == 18
    assert any(s.value.startswith(f"Prediction: {predicted}") for s in app.subheader)
    verdicts = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert len(verdicts) == 4 and any("explains this digit" in v for v in verdicts)
    assert any("C5's output is 1×1" in c.value for c in app.caption)  # Grad-CAM at C5 is flat
    captions = " ".join(c.value for c in app.caption)  # the figures' text equivalents
    assert "Where each map speaks most for the class" in captions
    assert f"The probability of {predicted} is" in captions and "random pixels" in captions
    assert f"The network answers {predicted} (" in captions
    # "Why not 4?": the maps follow the class asked about.
    other = 4 if predicted != 4 else 7
    app.selectbox(key=f"why_target_{predicted}_{int(evaluation.labels[18])}").set_value(other)
    app.run()
    assert not app.exception
    assert app.get("plotly_chart")  # maps and curves drawn


@pytest.mark.mnist
def test_robustness_view_shows_progress_then_the_cached_sweep(runs_root: Path, monkeypatch) -> None:
    run = open_run(runs_root / RUN)
    # The page starts the background job and shows its progress; the test stops it (the
    # process itself is tested in test_robustness.py) and fills the cache by hand.
    app = why_page(runs_root, monkeypatch, run=RUN, index="0", view="1")
    assert background.is_running(run) or background.read(run, "fgsm") is not None
    background.stop(run)
    accuracy = np.array([0.97, 0.9, 0.7, 0.5, 0.3, 0.2, 0.1])
    predictions = np.tile(evaluate_run(run).predictions.astype(np.int8), (7, 1))
    predictions[3:, :50] = (predictions[3:, :50] + 1) % 10  # 50 digits flipped from 0.15 on
    background.write(
        run, "fgsm", dict(epsilons=np.array(EPSILONS), accuracy=accuracy, predictions=predictions)
    )
    shifts = np.arange(-6, 7)
    bump = np.exp(-(shifts**2) / 8.0)
    background.write(run, "shift", dict(shifts=shifts, horizontal=bump, vertical=bump))
    app = why_page(runs_root, monkeypatch, run=RUN, index="0", view="1")
    assert app.select_slider(key="why_epsilon").value == 0.1
    assert any("No test digit flips at ε = 0.1" in i.value for i in app.info)
    app.select_slider(key="why_epsilon").set_value(0.2).run()
    assert not app.exception
    captions = " ".join(c.value for c in app.caption)
    assert "test digits that were right flip at ε = 0.2" in captions
    assert "Test accuracy under FGSM: 97.0% at ε = 0, 10.0% at ε = 0.3." in captions
    assert "The answers of the digits shown, before → after FGSM at ε = 0.2" in captions
    assert "Test accuracy is 100.0% in place." in captions  # the shift sweep's bump
    assert "Untouched, the answer is" in captions
    assert any("How much translation invariance" in m.value for m in app.markdown)


def test_errors_page_links_its_inspected_digit_here(runs_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    app.session_state["inspect"] = 7
    app.run()
    assert not app.exception
    link = f"(/{WHY.url_path}?{urlencode({'run': RUN, 'index': 7})})"
    assert any(link in m.value for m in app.markdown), [m.value for m in app.markdown]


@pytest.mark.mnist
def test_bad_links_are_ignored_with_a_plain_warning(runs_root: Path, monkeypatch) -> None:
    app = why_page(runs_root, monkeypatch, run="[x](https://evil.example)", index="1e9](x)")
    warnings = " ".join(w.value for w in app.warning)
    assert "](" not in warnings.replace("\\]\\(", "")  # every bracket escaped: no link
    assert "no finished run has that name" in warnings and "not a number" in warnings
    assert app.number_input(key="why_index").value == 0


@pytest.mark.mnist
@pytest.mark.parametrize(
    ("view", "index", "shown", "said"),
    [
        ("7", "99999999", 9999, ["Ignored the link's view '7'", "99,999,999 is outside"]),
        ("abc", "-5", 0, ["Ignored the link's view 'abc'", "-5 is outside the test set"]),
    ],
)
def test_out_of_range_links_say_what_is_shown_instead(
    runs_root: Path, monkeypatch, view: str, index: str, shown: int, said: list[str]
) -> None:
    app = why_page(runs_root, monkeypatch, run=RUN, view=view, index=index)
    warnings = " ".join(w.value for w in app.warning).replace("\\", "")
    for text in said:
        assert text in warnings, warnings
    assert "views are numbered 0 to 2; showing 'What it looks at'" in warnings
    assert f"showing test digit {shown:,} instead" in warnings
    assert app.number_input(key="why_index").value == shown
    assert app.radio(key="why_view").value == "What it looks at"


@pytest.mark.mnist
def test_a_damaged_run_is_a_message_not_an_exception(
    runs_root: Path, monkeypatch, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(runs_root / RUN, root / "damaged-run")
    (root / "damaged-run" / "best.pt").write_bytes(b"not a checkpoint")
    app = why_page(root, monkeypatch, run="damaged-run")
    assert app.error and "Could not load run damaged" in app.error[0].value


def test_braille_draws_one_dot_per_ink_pixel() -> None:
    image = np.zeros((28, 28))
    image[0, 0] = image[3, 1] = 1.0  # dots 1 and 8 of the first cell
    lines = braille(image).split("<br>")
    assert len(lines) == 7 and all(len(line) == 14 for line in lines)
    assert lines[0][0] == chr(0x2800 + 0x01 + 0x80) and set(lines[0][1:]) == {chr(0x2800)}


def test_embedding_figure_marks_mistakes_and_carries_each_index() -> None:
    points = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.arange(30) % 10
    predictions = labels.copy()
    predictions[[3, 17]] = 0
    figure = embedding_figure(points, labels, predictions, ["x"] * 30, selected=17)
    mistakes = next(t for t in figure.data if t.name == "misclassified")
    assert sorted(mistakes.customdata) == [3, 17]
    shown = sorted(i for t in figure.data[:10] for i in t.customdata)
    assert shown == sorted(set(range(30)) - {3, 17})
