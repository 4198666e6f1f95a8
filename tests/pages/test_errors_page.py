"""The errors page through AppTest: the empty state, filters, pagination, the inspected digit."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.evaluate import evaluate_run, misclassified
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import ERRORS

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("error-runs")
    # One quick epoch on few images: a few hundred mistakes, several gallery pages.
    train(TrainConfig(epochs=1, train_subset=4_096, seed=2), root / "quick-run")
    return root


def page(monkeypatch: pytest.MonkeyPatch, root: Path) -> AppTest:
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    app = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def caption_text(app: AppTest) -> str:
    return " ".join(c.value for c in app.caption)


def test_empty_state_points_to_training(monkeypatch, tmp_path: Path) -> None:
    app = page(monkeypatch, tmp_path)
    assert "No finished training run yet" in app.info[0].value
    assert any("/training" in m.value for m in app.markdown)


def test_headline_filters_and_pagination(monkeypatch, runs_root: Path) -> None:
    evaluation = evaluate_run(open_run(runs_root / "quick-run"))
    app = page(monkeypatch, runs_root)
    assert next(m.value for m in app.metric if m.label == "Test risk") == (
        f"{evaluation.test_risk:.4f}"
    )
    total = evaluation.errors
    assert f"{total:,} misclassified (all digits); showing 1-{min(48, total)}." in caption_text(app)
    # The figures' text equivalents (dashboard/described.py), right after each figure.
    assert f"{total:,} of 10,000 test digits misclassified (off the diagonal)" in caption_text(app)
    assert "is misclassified most often" in caption_text(app)
    tiles = [c for c in app.caption if c.value.startswith("#")]  # one caption per digit tile
    assert len(tiles) == min(48, total)

    app.number_input(key="gallery_page").set_value(2).run()
    assert f"showing 49-{min(96, total)}." in caption_text(app)

    pairs = [(t, p) for t in range(10) for p in range(10) if t != p]
    true, predicted = max(pairs, key=lambda pair: evaluation.confusion[pair])
    app.selectbox(key="true_filter").set_value(str(true)).run()
    app.selectbox(key="pred_filter").set_value(str(predicted)).run()
    expected = len(misclassified(evaluation, true, predicted))
    assert f"{expected:,} misclassified (true {true}, predicted {predicted})" in caption_text(app)
    assert app.number_input(key="gallery_page").value == 1  # a new filter starts at page 1

    app.button(
        key="inspect_" + str(int(misclassified(evaluation, true, predicted).iloc[0]["index"]))
    ).click().run()
    assert any(h.value.startswith("Test digit #") for h in app.subheader)
    assert f"the true digit, {true} (hatched), gets" in caption_text(app)

    app.button[[b.label for b in app.button].index("Clear filter")].click().run()
    assert f"{total:,} misclassified (all digits)" in caption_text(app)


def test_bad_link_is_ignored(monkeypatch, runs_root: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    app.query_params["run"] = "../../etc"
    app.query_params["true"] = "eleven"
    app.run()
    assert not app.exception
    assert "Ignored the link's run" in app.warning[0].value
    assert app.selectbox(key="true_filter").value == "all"


@pytest.mark.mnist
@pytest.mark.parametrize("epoch", ["999", "-1", "abc"])
def test_an_epoch_the_run_did_not_keep_is_said(monkeypatch, runs_root: Path, epoch: str) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    app.query_params["run"] = "quick-run"
    app.query_params["epoch"] = epoch
    app.run()
    assert not app.exception
    (warning,) = [w.value for w in app.warning]
    assert f"Ignored the link's epoch '{epoch}'" in warning.replace("\\", "")
    assert "kept the weights of epochs 0 to 1; showing the best epoch's instead" in warning
    assert app.select_slider(key="errors_epoch_quick-run").value == "best"
