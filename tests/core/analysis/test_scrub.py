"""Scrub through training: the errors and inside pages at any epoch's weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.evaluate import evaluate_run
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import ERRORS, INSIDE

pytestmark = [pytest.mark.mnist, pytest.mark.numerics]  # floats of a trained run


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scrub-runs")
    train(TrainConfig(epochs=2, train_subset=8_192, seed=2), root / "scrub-run")
    return root


def test_each_epochs_weights_are_kept_and_the_best_is_best_pt(runs_root: Path) -> None:
    run = open_run(runs_root / "scrub-run")
    assert run.snapshot_epochs() == [0, 1, 2]
    best = json.loads(run.test_path.read_text())["best_epoch"]
    # The best epoch's kept weights are best.pt's: same evaluation, digit for digit.
    at_best, final = evaluate_run(run, epoch=best), evaluate_run(run)
    assert np.array_equal(at_best.confusion, final.confusion)
    assert np.allclose(at_best.probabilities, final.probabilities, atol=1e-6)
    assert evaluate_run(run, epoch=0).test_risk > 0.7  # the random start: about chance
    assert (run.path / "evaluations" / "epoch-000.npz").is_file()  # computed once, cached


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_errors_page_at_epoch_zero_and_at_the_best(monkeypatch, runs_root: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    run = open_run(runs_root / "scrub-run")
    best = json.loads(run.test_path.read_text())["best_epoch"]
    app = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    final_risk = metric(app, "Test risk")
    assert final_risk == f"{evaluate_run(run).test_risk:.4f}"
    slider = app.select_slider(key="errors_epoch_scrub-run")
    slider.set_value(0).run()
    assert not app.exception
    assert float(metric(app, "Test risk")) > 0.7
    assert "random start" in app.info[0].value and "validation set" in app.info[0].value
    app.select_slider(key="errors_epoch_scrub-run").set_value(best).run()
    assert metric(app, "Test risk") == final_risk
    assert app.query_params["epoch"] in (str(best), [str(best)])


def kernels(app: AppTest) -> list:
    charts = {c.proto.id: json.loads(c.proto.spec) for c in app.get("plotly_chart")}
    c1 = next(s for s in charts.values() if s["layout"]["title"]["text"].startswith("C1:"))
    return c1["data"][0]["z"]


def test_inside_page_kernels_change_from_epoch_zero_to_the_last(
    monkeypatch, runs_root: Path
) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(INSIDE.file), default_timeout=120)
    app.query_params["epoch"] = "0"
    app.run()
    assert not app.exception, app.exception
    assert app.select_slider(key="inside_epoch_scrub-run").value == 0
    at_start = kernels(app)
    app.select_slider(key="inside_epoch_scrub-run").set_value(2).run()
    assert not app.exception
    assert kernels(app) != at_start
