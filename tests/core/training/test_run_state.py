"""A run's state never lies, however it was started and however its process ended.

Real processes and real kills throughout: the command line (`python -m core.train`) and the
page's jobs (core/training/jobs.py) share one mechanism, the run's lock (core/runs/store.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs.store import Run, open_run
from core.training import jobs
from core.training.config import TrainConfig
from tests.job_helpers import has_batches, state, wait_until

pytestmark = pytest.mark.mnist
REPO_ROOT = Path(__file__).resolve().parents[3]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.train", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.train", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_all(root: Path) -> None:
    for path in root.iterdir() if root.is_dir() else []:
        pid = Run(path).lock_holder_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def runs_root(tmp_path: Path, real_mnist_dir: Path):
    root = tmp_path / "runs"
    root.mkdir()
    yield root
    kill_all(root)


def test_a_command_line_run_killed_with_sigkill_is_crashed(runs_root: Path) -> None:
    target = runs_root / "cli-run"
    process = start_cli("--epochs", "20", "--train-subset", "8192", "--run-dir", str(target))
    try:
        wait_until(lambda: has_batches(target))
        run = open_run(target)
        assert state(run) == "running" and jobs.is_active(run)
        process.kill()
        process.wait(timeout=30)
        # The file still says running; the run's state does not.
        assert json.loads(run.status_path.read_text())["state"] == "running"
        status = jobs.job_state(run)
        assert status["state"] == "crashed" and "ended without saying why" in status["message"]
        assert json.loads(run.status_path.read_text())["state"] == "crashed"  # recorded once
        summary = jobs.summarize(run)
        assert summary.state == "crashed" and summary.eta_s is None
        jobs.delete(run)  # offered, and works
        assert not target.exists()
    finally:
        process.kill()


def test_a_second_trainer_on_the_same_run_is_refused(runs_root: Path) -> None:
    # Long enough to still be training after the second command line's start-up (a run of 3
    # small epochs once completed first on a fast machine), then stopped.
    run = jobs.submit(TrainConfig(epochs=20, train_subset=8_192, seed=1), runs_root)
    wait_until(lambda: state(run) == "running" and has_batches(run.path))
    with pytest.raises(ValueError, match="cannot be resumed twice"):
        jobs.resume(run)
    second = cli("--run-dir", str(run.path), "--resume")
    assert jobs.is_active(run), "the run ended before the second trainer tried: make it longer"
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "already being trained" in lines[0], second.stderr
    assert "Traceback" not in second.stderr
    jobs.stop(run)
    wait_until(lambda: state(run) == "stopped")
    records = run.read_metrics()
    epochs = [r["epoch"] for r in records if r["kind"] == "epoch"]
    steps = [r["step"] for r in records if r["kind"] == "batch"]
    # One trainer's records, not two: epochs counted once each, steps always increasing.
    assert epochs == list(range(1, len(epochs) + 1))
    assert steps and all(a < b for a, b in zip(steps, steps[1:], strict=False))


def test_the_page_cannot_resume_a_run_the_command_line_trains(runs_root: Path) -> None:
    target = runs_root / "cli-busy"
    process = start_cli("--epochs", "20", "--train-subset", "8192", "--run-dir", str(target))
    try:
        wait_until(lambda: has_batches(target))
        run = open_run(target)
        with pytest.raises(ValueError, match="cannot be resumed twice"):
            jobs.resume(run)
        # The page's Stop works on a command-line run too: it checkpoints and ends stopped.
        jobs.stop(run)
        assert process.wait(timeout=60) == 0
        assert state(run) == "stopped" and run.has_checkpoint("last")
    finally:
        process.kill()


def test_killed_before_the_first_checkpoint_restarts_clean(runs_root: Path) -> None:
    args = ["--epochs", "1", "--train-subset", "16384", "--seed", "4", "--log-every", "1"]
    whole = cli(*args, "--run-dir", str(runs_root / "whole"))
    assert whole.returncode == 0, whole.stderr

    target = runs_root / "killed"
    process = start_cli(*args, "--run-dir", str(target))
    wait_until(lambda: has_batches(target), every=0.005)
    process.kill()
    process.wait(timeout=30)
    run = open_run(target)
    assert not run.has_checkpoint("last"), "the kill was meant to land in the first epoch"
    logged = len(run.read_metrics())
    assert logged > 0
    # A kill in the middle of a checkpoint write leaves its temp file behind.
    leftover = target / ".last.pt.k1ll3d.part"
    leftover.write_bytes(b"half a checkpoint")

    resumed = cli("--run-dir", str(target), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert not leftover.exists()
    records = run.read_metrics()
    steps = [r["step"] for r in records if r["kind"] == "batch"]
    assert steps == sorted(set(steps)), "the lost attempt's steps were logged twice"
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1]
    assert jobs.summarize(run).epochs_done == 1
    whole_losses = [
        (r["step"], r["loss"]) for r in open_run(runs_root / "whole").read_metrics() if "loss" in r
    ]
    assert [(r["step"], r["loss"]) for r in records if "loss" in r] == whole_losses


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])
def test_stop_soon_after_submit_ends_stopped_not_crashed(runs_root: Path, delay: float) -> None:
    """A stop that lands while the job waits, execs or imports torch is a stop, not a kill."""
    run = jobs.submit(TrainConfig(epochs=20, train_subset=8_192), runs_root)
    time.sleep(delay)
    jobs.stop(run)
    final = wait_until(lambda: (s := state(run)) not in ("queued", "running") and s)
    assert final == "stopped", jobs.job_state(run)
    # ...and it resumes like any stopped run: the old stop request does not stop it again.
    jobs.resume(run)
    wait_until(lambda: has_batches(run.path))
    assert state(run) in ("queued", "running")
    jobs.stop(run)
    assert wait_until(lambda: (s := state(run)) not in ("queued", "running") and s) == "stopped"


def test_a_queued_run_can_be_stopped_and_deleted(runs_root: Path, monkeypatch) -> None:
    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    first = jobs.submit(TrainConfig(epochs=20, train_subset=8_192), runs_root)
    wait_until(lambda: state(first) == "running")
    second = jobs.submit(TrainConfig(epochs=1, train_subset=1_024), runs_root)
    third = jobs.submit(TrainConfig(epochs=1, train_subset=1_024), runs_root)
    time.sleep(1.0)
    assert state(second) == "queued" and state(third) == "queued"
    jobs.stop(second)
    wait_until(lambda: state(second) == "stopped")
    assert "while queued" in jobs.job_state(second)["message"]
    jobs.delete(third)  # a queued run: stopped, then removed
    assert not third.path.exists()
    with pytest.raises(ValueError, match="stop it first"):
        jobs.delete(first)
    jobs.stop(first)
    wait_until(lambda: state(first) == "stopped")


def process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_finished_jobs_are_reaped_without_another_submit(runs_root: Path) -> None:
    run = jobs.submit(TrainConfig(epochs=1, train_subset=1_024), runs_root)
    pid = json.loads((run.path / "job.json").read_text())["pid"]
    wait_until(lambda: state(run) == "completed")
    wait_until(lambda: process_state(pid) is None, timeout=10)  # gone, not a zombie


def test_a_run_that_cannot_start_leaves_no_folder(runs_root: Path) -> None:
    result = cli("--train-subset", "59000", "--runs-root", str(runs_root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "train_subset must be a whole number from 1 to 58976" in result.stderr
    assert list(runs_root.iterdir()) == []
    with pytest.raises(ValueError, match="train_subset"):
        jobs.submit(TrainConfig(train_subset=59_000), runs_root)
    assert list(runs_root.iterdir()) == []


def test_a_folder_that_is_not_a_run_is_refused(runs_root: Path) -> None:
    folder = runs_root / "notes"
    folder.mkdir()
    (folder / "metrics.jsonl").write_text("my own notes\n")
    result = cli("--epochs", "1", "--train-subset", "1024", "--run-dir", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not an empty folder" in result.stderr
    assert (folder / "metrics.jsonl").read_text() == "my own notes\n"
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.jsonl"]


def test_a_huge_learning_rate_diverges_instead_of_breaking_the_run_id(runs_root: Path) -> None:
    result = cli(
        "--lr", "1e6", "--epochs", "1", "--train-subset", "1024", "--runs-root", str(runs_root)
    )
    assert result.returncode == 0, result.stderr
    assert "diverged" in result.stdout
    (folder,) = runs_root.iterdir()
    assert "-lr1e06-" in folder.name
    run = jobs.submit(TrainConfig(lr=1e30, epochs=1, train_subset=1_024), runs_root)
    wait_until(lambda: state(run) == "diverged")
    with pytest.raises(ValueError, match="lr must be at most 1e"):
        jobs.submit(TrainConfig(lr=1e300), runs_root)


@pytest.mark.parametrize(
    "state_, epochs_done, batch, expected",
    [
        ("queued", 0, 0, "queued, waiting for a free slot"),
        ("running", 0, 0, "starting: loading MNIST and the model (epoch 1/1)"),
        ("running", 0, 5, "epoch 1/1, batch 5/16"),
        ("running", 0, 16, "epoch 1/1: all 16 batches done, measuring the validation error"),
        ("running", 1, 0, "1/1 epochs trained; testing the best epoch's weights"),
        ("completed", 1, 0, "completed"),
    ],
)
def test_the_progress_line_never_contradicts_itself(state_, epochs_done, batch, expected) -> None:
    """'epoch 1/1, batch 0/16 ... 100%' and 'batch 0/16 0%' for a finished run are gone."""
    summary = jobs.RunSummary(
        "r",
        state_,
        None,
        TrainConfig(lr=0.1, epochs=1, train_subset=1_000),  # 16 batches of 64
        epochs_done=epochs_done,
        batch_in_epoch=batch,
    )
    assert summary.progress_text().startswith(expected)
    if state_ == "completed":
        assert summary.progress == 1.0
    if "batch 5/16" in expected:
        assert summary.progress == 5 / 16
