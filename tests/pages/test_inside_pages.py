"""The LeNet-5 architecture page and the inside-the-network page through AppTest."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin
from streamlit.testing.v1 import AppTest

from core.model import mnist
from core.model.lenet import LeNet5, LeNetArchitecture, lenet_layer_table
from core.model.preprocess import from_upload
from core.runs.store import Run, open_run
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import ARCHITECTURE, INSIDE
from dashboard.text import plain


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
    # The block diagram's text equivalent, under it.
    assert any("C1 6×28×28, S2 6×14×14" in c.value for c in app.caption)


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
    images, _ = mnist.load_test_set()
    with torch.inference_mode():
        expected = int(model.eval()(images[8:9]).argmax())
    assert app.subheader[0].value.startswith(f"Prediction: {expected}")
    captions = [c.value for c in app.caption]
    starts = (f"The network answers {expected} (", "C1: 6 kernels of 5×5", "C3: 96 kernels")
    assert all(any(c.startswith(s) for c in captions) for s in starts), captions  # issue 25
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


@pytest.fixture(scope="module")
def untrained_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run whose best checkpoint is a freshly initialised LeNet-5: enough for the
    upload path, without training anything."""
    run = Run(tmp_path_factory.mktemp("upload-runs") / "upload-run")
    run.path.mkdir()
    run.write_config(asdict(TrainConfig(epochs=1)))
    torch.manual_seed(0)
    run.save_checkpoint("best", {"model": LeNet5().state_dict()})
    run.write_status("completed")
    return run.path.parent


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def a_one(background: int, ink: int, dtype=np.uint8) -> np.ndarray:
    picture = np.full((200, 200), background, dtype=dtype)
    picture[40:160, 90:110] = ink
    return picture


def text_bomb() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 2_000_000, zip=True)  # 2 MB of text in 2 kB
    return png(Image.fromarray(a_one(255, 0)), pnginfo=info)


def transparent_ink() -> bytes:
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)
    rgba[40:160, 90:110] = (0, 0, 0, 255)
    return png(Image.fromarray(rgba))


def upload_page(monkeypatch, root: Path, data: bytes) -> AppTest:
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    app = AppTest.from_file(str(INSIDE.file), default_timeout=120)
    app.session_state["inside_source"] = "upload"
    app.run()
    assert not app.exception, app.exception
    app.file_uploader(key="inside_upload").set_value(("digit.png", data, "image/png")).run()
    assert not app.exception, app.exception
    return app


@pytest.mark.mnist
@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: png(Image.new("L", (20_000, 20_000), 255)), "400,000,000 pixels; at most"),
        (text_bomb, "too much text metadata"),
        (lambda: b"GIF89a not really", "not a readable image"),
    ],
    ids=["decompression-bomb", "2MB-text-chunk", "garbage"],
)
def test_bad_uploads_are_one_line_errors(monkeypatch, untrained_runs_root, make, message) -> None:
    app = upload_page(monkeypatch, untrained_runs_root, make())
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and plain(message) in errors[0], errors  # shown as text
    assert errors[0].startswith("Could not use this file:") and "\n" not in errors[0]
    assert "Draw a digit on the canvas" in app.info[0].value  # and no prediction


@pytest.mark.mnist
@pytest.mark.parametrize(
    "make",
    [transparent_ink, lambda: png(Image.fromarray(a_one(60_000, 6_000, np.uint16)))],
    ids=["dark-ink-on-transparent", "16-bit-grey"],
)
def test_uploaded_digit_is_read(monkeypatch, untrained_runs_root, make) -> None:
    data = make()
    app = upload_page(monkeypatch, untrained_runs_root, data)
    assert not app.error, [e.value for e in app.error]
    model = LeNet5()
    model.load_state_dict(
        open_run(untrained_runs_root / "upload-run").load_checkpoint("best")["model"]
    )
    digit = from_upload(data)
    assert digit[13, 13:15].max() > 0.5 and digit[0, 0] == 0.0  # the '1', bright on dark
    with torch.inference_mode():
        expected = int(model.eval()(torch.from_numpy(digit)[None, None]).argmax())
    assert app.subheader[0].value.startswith(f"Prediction: {expected}")


@pytest.mark.mnist
def test_kernels_are_drawn_large_with_a_thin_colour_bar(monkeypatch, untrained_runs_root) -> None:
    """C1's six kernels in one full-width row (at 1000 px about 70 px each, not 20), C3 as
    16 columns of 6; colour bars 12 px thick and at most 160 px tall."""
    import json

    app = upload_page(monkeypatch, untrained_runs_root, transparent_ink())
    charts = {c.proto.id: json.loads(c.proto.spec) for c in app.get("plotly_chart")}
    c1 = next(s for s in charts.values() if s["layout"]["title"]["text"].startswith("C1: 6"))
    c3 = next(s for s in charts.values() if s["layout"]["title"]["text"].startswith("C3: 16"))
    for spec, shape in ((c1, (5, 6 * 6 - 1)), (c3, (6 * 6 - 1, 16 * 6 - 1))):
        z = spec["data"][0]["z"]  # plotly sends numpy arrays as base64 typed arrays
        assert tuple(int(n) for n in z["shape"].split(",")) == shape
        bar = spec["data"][0]["colorbar"]
        plot_height = spec["layout"]["height"] - 30
        assert bar["thickness"] == 12 and bar["len"] * plot_height <= 160
