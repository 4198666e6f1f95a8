"""A broken run folder is one broken row, never a broken page, and one line on the command line.

Each case damages one file of a copy of a real finished run, then reads it the ways the product
does: the run store, the jobs, the command line, and the training, errors and inside pages."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.analysis.evaluate import evaluate_run
from core.runs.store import Run, RunDamagedError
from core.training import jobs
from core.training.config import TrainConfig
from core.training.loop import train
from dashboard.site import ERRORS, INSIDE, TRAINING
from dashboard.text import plain

pytestmark = pytest.mark.mnist
REPO_ROOT = Path(__file__).resolve().parents[3]


def write(name: str, content: bytes | str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)

    return damage


def refused_pickle(folder: Path) -> None:
    """A pickle that torch.load(weights_only=True) refuses: it holds an arbitrary object."""
    torch.save({"model": {}, "when": datetime.datetime(2026, 1, 1)}, folder / "best.pt")


def edit_config(**changes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))

    return damage


# name -> (damage, the file the reason must name)
STATUS_CASES = {
    "status-list": (write("status.json", "[1, 2]"), "status.json"),
    "status-bytes": (write("status.json", b"\xff\xfe\x00garbage\x80"), "status.json"),
    "status-state": (write("status.json", '{"state": "[Log in](https://evil.example)"}'), "status"),
}
CONFIG_CASES = {
    "config-lr-text": (edit_config(lr="abc"), "config.json"),
    "config-unknown": (edit_config(colour="blue"), "config.json"),
    "config-empty": (write("config.json", "{}"), "config.json"),
}
TEST_CASES = {"test-list": (write("test.json", "[0.1]"), "test.json")}
CHECKPOINT_CASES = {
    "best-random": (write("best.pt", os.urandom(4096)), "best.pt"),
    "best-empty": (write("best.pt", b""), "best.pt"),
    "best-refused": (refused_pickle, "best.pt"),
}
ROW_CASES = {**STATUS_CASES, **CONFIG_CASES, **TEST_CASES}


@pytest.fixture(scope="module")
def finished(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("good")
    train(TrainConfig(epochs=1, train_subset=2_048, seed=3), root / "good-run")
    return root / "good-run"


def damaged_copy(finished: Path, root: Path, name: str, damage) -> Run:
    folder = root / name
    shutil.copytree(finished, folder)
    damage(folder)
    return Run(folder)


@pytest.mark.parametrize("name", list(ROW_CASES))
def test_a_damaged_folder_is_a_damaged_row(finished: Path, tmp_path: Path, name: str) -> None:
    damage, file = ROW_CASES[name]
    run = damaged_copy(finished, tmp_path, name, damage)
    summary = jobs.summarize(run)
    assert summary.state == "damaged" and file in summary.message
    assert not jobs.is_active(run)
    jobs.delete(run)  # offered, and works
    assert not run.path.exists()


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_a_damaged_config_is_never_trained(finished: Path, tmp_path: Path, name: str) -> None:
    """Resuming `{}` used to train 20 epochs on the full set; now it is one line, no training."""
    damage, _ = CONFIG_CASES[name]
    run = damaged_copy(finished, tmp_path, name, damage)
    run.write_status("stopped", "stopped by request")  # a run one would resume
    before = run.metrics_path.read_bytes()
    with pytest.raises(ValueError, match="config.json"):
        jobs.resume(run)
    result = subprocess.run(
        [sys.executable, "-m", "core.train", "--run-dir", str(run.path), "--resume"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is damaged: config.json" in result.stderr
    assert run.metrics_path.read_bytes() == before


@pytest.mark.parametrize("content", [os.urandom(2048), b""], ids=["random", "empty"])
def test_resume_with_a_damaged_checkpoint_is_one_line(
    finished: Path, tmp_path: Path, content: bytes
) -> None:
    run = damaged_copy(finished, tmp_path, "last-bad", write("last.pt", content))
    run.write_status("stopped", "stopped by request")
    result = subprocess.run(
        [sys.executable, "-m", "core.train", "--run-dir", str(run.path), "--resume"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "last.pt: is not a readable checkpoint" in result.stderr
    status = jobs.job_state(run)
    assert status["state"] == "failed" and "last.pt" in status["message"]


@pytest.mark.parametrize("name", list(CHECKPOINT_CASES))
def test_a_damaged_best_checkpoint_names_the_file(finished: Path, tmp_path: Path, name) -> None:
    damage, file = CHECKPOINT_CASES[name]
    run = damaged_copy(finished, tmp_path, name, damage)
    (run.path / "evaluation.npz").unlink(missing_ok=True)
    with pytest.raises(RunDamagedError, match=file):
        run.load_checkpoint("best")
    with pytest.raises(RunDamagedError, match=file):
        evaluate_run(run)


def test_bad_metrics_lines_are_skipped(finished: Path, tmp_path: Path) -> None:
    run = damaged_copy(finished, tmp_path, "metrics-bad", lambda folder: None)
    good = run.read_metrics()
    with open(run.metrics_path, "a") as handle:
        handle.write('[1, 2]\n"text"\n{"kind": "batch"}\n{"kind": "epoch", "epoch": 2}\n')
        handle.write('{"kind": "batch", "epoch": "x", "batch": 1, "step": 1, "loss": 1}\n')
    assert run.read_metrics() == good
    summary = jobs.summarize(run)
    assert summary.state == "completed" and summary.epochs_done == 1


@pytest.fixture
def damaged_root(finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs folder with the good run and one copy per kind of damage."""
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(finished, root / "good-run")
    for name, (damage, _) in {**ROW_CASES, **CHECKPOINT_CASES}.items():
        damaged_copy(finished, root, name, damage)
    metrics = damaged_copy(finished, root, "metrics-bad", lambda folder: None).metrics_path
    with open(metrics, "a") as handle:
        handle.write('[1, 2]\n{"kind": "epoch"}\n')
    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    return root


def run_page(file: Path, **params: str) -> AppTest:
    app = AppTest.from_file(str(file), default_timeout=120)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def test_training_page_lists_damaged_runs_and_deletes_them(damaged_root: Path) -> None:
    app = run_page(TRAINING.file)
    table = app.dataframe[0].value
    states = dict(zip(table["run"], table["status"], strict=True))
    assert len(states) == len(ROW_CASES) + len(CHECKPOINT_CASES) + 2  # no run vanished
    for name in ROW_CASES:
        assert states[name] == "damaged", name
    assert states["good-run"] == "completed" and states["metrics-bad"] == "completed"
    texts = " ".join(m.value for m in app.markdown)
    for file in ("status.json", "config.json", "test.json"):
        assert f"is damaged and cannot be shown: {plain(file)}" in texts
    # The file's text is shown as text: no link from status.json inside the app's message.
    assert "](https://evil.example)" not in texts
    # Delete, confirm: the row is gone, everything else stays.
    app.button(key="delete_damaged_status-list").click().run()
    app.button(key="confirm_damaged_status-list").click().run()
    assert not app.exception
    assert not (damaged_root / "status-list").exists()
    assert (damaged_root / "good-run").exists()


@pytest.mark.parametrize("page", [ERRORS, INSIDE], ids=["errors", "inside"])
@pytest.mark.parametrize("name", list(CHECKPOINT_CASES))
def test_pages_with_a_damaged_best_checkpoint_explain_it(damaged_root: Path, page, name) -> None:
    app = run_page(page.file, run=name)
    errors = " ".join(e.value for e in app.error)
    assert plain("best.pt: is not a readable checkpoint") in errors, errors
    # The run picker still works: the good run opens on the same page.
    picker = next(s for s in app.selectbox if s.label == "Run")
    picker.set_value("good-run").run()
    assert not app.exception and not app.error


def test_missing_files_are_named_before_anyone_acts(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots, records and checkpoints deleted by hand: the runs table says "files missing"
    and names each, with what it costs, and the errors page says which epochs are gone."""
    root = tmp_path / "runs"
    shutil.copytree(finished, root / "good-run")
    snapshot = damaged_copy(finished, root, "no-snapshot", lambda f: None)
    (snapshot.snapshots_dir / "epoch-001.pt").unlink()
    (snapshot.metrics_path).unlink()
    resumable = damaged_copy(finished, root, "no-last", lambda f: None)
    resumable.write_status("stopped", "stopped by request; resume to continue", epoch=1)
    resumable.checkpoint_path("last").unlink()
    best = damaged_copy(finished, root, "no-best", lambda f: None)
    best.checkpoint_path("best").unlink()

    missing = {run.id: jobs.summarize(run).missing for run in (snapshot, resumable, best)}
    assert missing["no-snapshot"] == (
        "the weights after epoch 1 (epochs/) are gone: those epochs cannot be shown",
        "metrics.jsonl is gone: no curves and no epoch records",
    )
    assert missing["no-last"] == ("last.pt is gone: Resume starts it over from epoch 1",)
    assert missing["no-best"] == (
        "best.pt is gone: the errors, why-it-errs and inside pages cannot load it",
    )
    assert jobs.summarize(Run(root / "good-run")).missing == ()

    monkeypatch.setenv("CNN_RUNS_DIR", str(root))
    app = AppTest.from_file(str(TRAINING.file), default_timeout=60)
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    states = dict(zip(table["run"], table["status"], strict=True))
    assert states == {
        "good-run": "completed",
        "no-snapshot": "completed · files missing",
        "no-last": "stopped · files missing",
        "no-best": "completed · files missing",
    }
    warnings = " ".join(w.value for w in app.warning)
    for run_id, problems in missing.items():
        assert f"**{run_id}** is missing files: " in warnings
        for problem in problems:
            assert plain(problem) in warnings

    errors = AppTest.from_file(str(ERRORS.file), default_timeout=120)
    errors.query_params["run"] = "no-snapshot"
    errors.run()
    assert not errors.exception
    assert any(
        "weights after epoch 1 are gone from its folder" in w.value for w in errors.warning
    ), [w.value for w in errors.warning]
