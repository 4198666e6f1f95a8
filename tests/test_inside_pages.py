"""The LeNet-5 architecture page and the inside-the-network page through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import data
from core.lenet import LeNet5, LeNetArchitecture, lenet_layer_table
from core.runs import open_run
from core.train import TrainConfig, train
from dashboard.site import ARCHITECTURE, INSIDE


def architecture_page() -> AppTest:
    app = AppTest.from_file(str(ARCHITECTURE.file), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_architecture_defaults_are_the_lecture() -> None:
    app = architecture_page()
    assert metric(app, "Parameters") == "61,706"
    assert metric(app, "MACs per image") == "416,520"
    assert "Checked against PyTorch" in app.success[0].value


def test_architecture_follows_the_controls() -> None:
    app = architecture_page()
    app.slider(key="arch_c1_kernel").set_value(3).run()
    app.number_input(key="arch_c3_channels").set_value(8).run()
    expected = lenet_layer_table(LeNetArchitecture(c1_kernel=3, c3_channels=8))
    assert metric(app, "Parameters") == f"{sum(r.parameters for r in expected):,}"
    assert "Checked against PyTorch" in app.success[0].value


def test_impossible_architecture_names_the_layer() -> None:
    app = architecture_page()
    app.slider(key="arch_pool").set_value(4).run()
    assert not app.exception
    assert "Layer **S4** would produce a map smaller than 1×1" in app.error[0].value
    app.button[[b.label for b in app.button].index("Back to the lecture's LeNet-5")].click().run()
    assert metric(app, "Parameters") == "61,706"


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inside-runs")
    train(TrainConfig(epochs=1, train_subset=4_096, seed=5), root / "inside-run")
    return root


@pytest.mark.mnist
def test_inside_page_predicts_a_test_digit(monkeypatch, runs_root: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    app = AppTest.from_file(str(INSIDE.file), default_timeout=120)
    app.query_params["index"] = "8"
    app.run()
    assert not app.exception, app.exception
    model = LeNet5()
    model.load_state_dict(open_run(runs_root / "inside-run").load_checkpoint("best")["model"])
    images, _ = data.load_test_set()
    with torch.inference_mode():
        expected = int(model.eval()(images[8:9]).argmax())
    assert app.subheader[0].value.startswith(f"Prediction: {expected}")
    for scale in ("per layer", "global", "per map"):
        app.radio(key="inside_scale").set_value(scale).run()
        assert not app.exception
    app.number_input(key="inside_index").set_value(0).run()
    assert app.query_params["index"] in ("0", ["0"])
    for source in ("draw", "upload"):  # nothing drawn or uploaded yet: a hint, no error
        app.radio(key="inside_source").set_value(source).run()
        assert not app.exception
        assert "Draw a digit on the canvas" in app.info[0].value


@pytest.mark.mnist
def test_inside_page_empty_state(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(INSIDE.file), default_timeout=60)
    app.run()
    assert not app.exception
    assert "No finished training run yet" in app.info[0].value
