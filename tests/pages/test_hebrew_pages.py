"""Every page in Hebrew through the router (AppTest): it runs without an exception and shows no
English prose, first with no run trained and then with a finished one. What is shown is read from
the page itself (tests/hebrew.py), so a string that was never marked for translation fails here
even though the catalogue test cannot see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import PAGES
from tests.hebrew import mirrored, page_in, shown_text, untranslated

RUN = "hebrew-run"


def hebrew_page(page: str, **query: str):
    app = page_in("he", page, query=query)
    assert not app.exception, [e.value for e in app.exception]
    return app


def assert_all_hebrew(app, where: str) -> None:
    texts = shown_text(app)
    english = untranslated(texts)
    assert not english, f"{where}: shown in English:\n" + "\n".join(repr(t) for t in english)
    backwards = mirrored(texts)
    assert not backwards, f"{where}: sums laid out backwards:\n" + "\n".join(map(repr, backwards))


@pytest.mark.parametrize("page", [page.path for page in PAGES])
def test_page_in_hebrew_with_no_run(page: str, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(tmp_path))
    assert_all_hebrew(hebrew_page(page), page)


@pytest.mark.parametrize(
    "query",
    [
        {"mode": "1D"},
        {"mode": "2D", "cin": "2", "cout": "2", "ph": "1", "pw": "1", "bias": "1"},
        {"op": "max pooling"},
        {"op": "average pooling"},
        {"op": "transposed convolution", "sh": "2", "sw": "2"},
        {"src": "MNIST digit", "kernel": "vertical edges"},
    ],
    ids=["1d", "2d-channels", "max-pool", "avg-pool", "transposed", "mnist"],
)
def test_explorer_in_hebrew(query: dict[str, str], real_mnist_dir: Path) -> None:
    assert_all_hebrew(hebrew_page("pages/convolution.py", **query), f"explorer {query}")


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hebrew-runs")
    train(TrainConfig(epochs=1, train_subset=4_096, seed=0), root / RUN)
    return root


@pytest.mark.mnist
@pytest.mark.parametrize(
    "page, query",
    [
        ("pages/training.py", {"run": RUN}),
        ("pages/errors.py", {"run": RUN}),
        ("pages/compare.py", {"run": RUN}),
        ("pages/inside.py", {"run": RUN}),
        ("pages/why.py", {"run": RUN, "view": "0"}),
        ("pages/why.py", {"run": RUN, "view": "1"}),
        ("pages/why.py", {"run": RUN, "view": "2"}),
    ],
    ids=["training", "errors", "compare", "inside", "why-looks", "why-breaks", "why-mistakes"],
)
def test_page_in_hebrew_with_a_finished_run(page, query, runs_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    assert_all_hebrew(hebrew_page(page, **query), f"{page} {query}")


def test_english_stays_the_default(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNN_RUNS_DIR", str(tmp_path))
    app = page_in("en", "pages/welcome.py")
    assert app.title[0].value == "Convolutional neural networks, explained by doing"
    hebrew = page_in("he", "pages/welcome.py")
    assert hebrew.title[0].value == "רשתות קונבולוציה, מוסברות דרך עשייה"
    assert hebrew.query_params.get("lang") in ("he", ["he"])
