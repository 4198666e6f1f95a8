"""Text from a link, a file or a form is echoed as text, never as markdown: a crafted
`?run=[Log in again](https://evil.example/x)` must not become a link in the app's own warning."""

from __future__ import annotations

import re
import string
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.model.lenet import LeNet5
from core.runs.store import Run
from core.training.config import TrainConfig
from dashboard.site import ERRORS, INSIDE
from dashboard.text import plain

pytestmark = pytest.mark.mnist

PHISHING = "[Log in again](https://evil.example/x)"


@pytest.fixture(scope="module")
def runs_root(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run with a freshly initialised LeNet-5 as its best model (nothing trains)."""
    run = Run(tmp_path_factory.mktemp("link-runs") / "link-run")
    run.path.mkdir()
    run.write_config(asdict(TrainConfig(epochs=1)))
    torch.manual_seed(0)
    run.save_checkpoint("best", {"model": LeNet5().state_dict()})
    run.write_status("completed")
    return run.path.parent


def open_page(monkeypatch, root: Path, file: Path, **query: str) -> AppTest:
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    app = AppTest.from_file(str(file), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def assert_no_markup(body: str) -> None:
    assert "](" not in body and "https://" not in body, body


@pytest.mark.parametrize("file", [ERRORS.file, INSIDE.file], ids=["errors", "inside"])
def test_run_from_the_link_is_shown_as_text(monkeypatch, runs_root: Path, file: Path) -> None:
    app = open_page(monkeypatch, runs_root, file, run=PHISHING)
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 1, warnings
    assert plain(repr(PHISHING)) in warnings[0]
    assert_no_markup(warnings[0])
    assert app.selectbox(key="errors_run" if file == ERRORS.file else "inside_run").value == (
        "link-run"
    )


def test_digit_index_from_the_link_is_shown_as_text(monkeypatch, runs_root: Path) -> None:
    link = "[a](//e.xy)"  # the page keeps 12 characters: enough for a protocol-relative link
    app = open_page(monkeypatch, runs_root, INSIDE.file, index=link)
    warning = next(w.value for w in app.warning if "digit index" in w.value)
    assert plain(repr(link)) in warning
    assert_no_markup(warning)


def test_inspect_link_keeps_the_run_id_inside_its_query(monkeypatch, runs_root: Path) -> None:
    app = open_page(monkeypatch, runs_root, ERRORS.file)
    app.button[[b.label for b in app.button].index("Inspect")].click().run()
    link = next(m.value for m in app.markdown if m.value.startswith("[Open it inside"))
    assert link.startswith("[Open it inside the network](/inside?run=link-run&index=")


def test_plain_escapes_every_markdown_character() -> None:
    text = r"[a](b) *c* _d_ `e` <f> #g |h| ~i~ $j$ \k :red[l] :material/home: ![m](n) www.o.p"
    escaped = plain(text)
    punctuation = re.escape(string.punctuation)
    # every ASCII punctuation character is escaped, and nothing else changes
    assert re.fullmatch(rf"(?:\\[{punctuation}]|[^{punctuation}])*", escaped), escaped
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert "](" not in escaped and "www.o" not in escaped and ":red[" not in escaped
    assert plain("run-2024 lr 0.1") == r"run\-2024 lr 0\.1"
