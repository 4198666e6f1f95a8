"""Training jobs as real OS processes: start, progress, stop, resume, crash detection, queueing."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from core.runs.store import validate_run_id
from core.training import jobs
from core.training.config import TrainConfig
from tests.job_helpers import kill_jobs, state, wait_until

pytestmark = pytest.mark.mnist


@pytest.fixture
def runs_root(tmp_path: Path, real_mnist_dir: Path):
    root = tmp_path / "runs"
    root.mkdir()
    yield root
    kill_jobs(root)  # never leave a training process behind


def test_a_run_trains_in_its_own_process_with_progress(runs_root: Path) -> None:
    run = jobs.submit(TrainConfig(epochs=2, train_subset=4_096, log_every=4), runs_root)
    pid = json.loads((run.path / "job.json").read_text())["pid"]
    assert pid != os.getpid()
    assert state(run) in ("queued", "running")
    wait_until(lambda: len(run.read_metrics()) > 0)  # progress appears while it runs
    wait_until(lambda: state(run) == "completed")
    summary = jobs.summarize(run)
    assert summary.epochs_done == 2 and summary.test_risk is not None
    assert summary.progress == 1.0
    assert run.read_test()["test_images"] == 10_000


def test_stop_then_resume(runs_root: Path) -> None:
    run = jobs.submit(TrainConfig(epochs=3, train_subset=16_384, log_every=4, seed=3), runs_root)
    wait_until(lambda: any(r["kind"] == "batch" for r in run.read_metrics()))
    jobs.stop(run)
    wait_until(lambda: state(run) == "stopped")
    assert run.has_checkpoint("last")
    done_before = jobs.summarize(run)
    assert done_before.epochs_done < 3
    jobs.resume(run)
    with pytest.raises(ValueError, match="cannot be resumed twice"):
        jobs.resume(run)
    wait_until(lambda: state(run) == "completed")
    assert jobs.summarize(run).epochs_done == 3


def test_killed_process_is_detected_as_crashed(runs_root: Path) -> None:
    run = jobs.submit(TrainConfig(epochs=5, log_every=4), runs_root)
    wait_until(lambda: state(run) == "running")
    pid = json.loads((run.path / "job.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    status = wait_until(lambda: (s := jobs.job_state(run))["state"] == "crashed" and s)
    assert "ended without saying why" in status["message"]
    # A crashed run resumes from its last checkpoint (or from the start without one).
    jobs.resume(run)
    wait_until(lambda: state(run) == "running")
    jobs.stop(run)
    wait_until(lambda: state(run) == "stopped")


def test_queue_runs_one_at_a_time_in_order(runs_root: Path, monkeypatch) -> None:
    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    first = jobs.submit(TrainConfig(epochs=1, train_subset=8_192, log_every=4), runs_root)
    second = jobs.submit(TrainConfig(epochs=1, train_subset=2_048, log_every=4), runs_root)
    seen_both_running = False
    while state(second) != "completed":
        states = (state(first), state(second))
        seen_both_running |= states == ("running", "running")
        assert "crashed" not in states and "failed" not in states, states
        if state(first) in ("queued", "running"):
            assert state(second) == "queued", states
        time.sleep(0.02)
    assert state(first) == "completed"
    assert not seen_both_running
    first_done = first.read_status()["updated"]
    second_first_metric = second.read_metrics()[0]["time"]
    assert second_first_metric >= first_done - 0.5


def test_delete_refuses_an_active_run_and_removes_a_finished_one(runs_root: Path) -> None:
    run = jobs.submit(TrainConfig(epochs=2, train_subset=16_384), runs_root)
    wait_until(lambda: state(run) == "running")
    with pytest.raises(ValueError, match="stop it first"):
        jobs.delete(run)
    wait_until(lambda: state(run) == "completed")
    jobs.delete(run)
    assert not run.path.exists()


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden", "x" * 81, "run id"])
def test_run_ids_are_names_never_paths(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid run id"):
        validate_run_id(bad)


def test_submit_validates_before_starting_anything(runs_root: Path) -> None:
    with pytest.raises(ValueError, match="lr must be positive"):
        jobs.submit(TrainConfig(lr=-1.0), runs_root)
    with pytest.raises(ValueError, match="epochs"):
        jobs.submit(TrainConfig(epochs=0), runs_root)
    assert list(runs_root.iterdir()) == []
