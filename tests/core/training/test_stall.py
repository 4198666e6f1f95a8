"""A hung trainer (SIGSTOP: alive, holding its lock and its slot, making no progress) reads
`stalled` within its bound, on the pages' reader and on the command line; the run queued
behind it does not wait forever: it ends the stalled run (`crashed`, saying why) and trains.
Real job processes, a real signal, the real queue. The stall floor is set low
($CNN_STALL_SECONDS=3), so the bound is what the run's own measured gaps make it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs.store import HEARTBEAT_EVERY, STALL_SECONDS_ENV, stall_bound
from core.training import jobs
from core.training.config import TrainConfig
from tests.job_helpers import has_batches, kill_jobs, state, wait_until

pytestmark = pytest.mark.mnist
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def runs_root(tmp_path: Path, real_mnist_dir: Path, monkeypatch):
    monkeypatch.setenv(STALL_SECONDS_ENV, "3")  # this process's reader and the jobs' queue
    monkeypatch.setenv(jobs.MAX_PARALLEL_ENV, "1")
    root = tmp_path / "runs"
    root.mkdir()
    yield root
    for run in jobs.list_runs(root):  # a stopped process must be woken to be reaped cleanly
        pid = run.lock_holder_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    kill_jobs(root)


def test_the_bound_comes_from_the_runs_own_gaps(monkeypatch) -> None:
    monkeypatch.setenv(STALL_SECONDS_ENV, "60")
    assert stall_bound(0.05) == 60.0  # the floor
    assert stall_bound(9.0) == 90.0  # ten times the slowest gap
    monkeypatch.setenv(STALL_SECONDS_ENV, "not a number")
    assert stall_bound(0.0) == 60.0


def test_a_stopped_trainer_reads_stalled_and_the_queue_moves_on(runs_root: Path) -> None:
    hung = jobs.submit(
        TrainConfig(epochs=20, train_subset=8_192, workers=1, seed=1), runs_root, run_id="hung"
    )
    wait_until(lambda: has_batches(hung.path))
    behind = jobs.submit(
        TrainConfig(epochs=1, train_subset=1_024, workers=1, seed=2), runs_root, run_id="behind"
    )
    assert state(behind) == "queued"
    pid = hung.lock_holder_pid()
    os.kill(pid, signal.SIGSTOP)
    stopped_at = time.monotonic()

    status = wait_until(lambda: (s := jobs.job_state(hung))["state"] == "stalled" and s, 120)
    waited = time.monotonic() - stopped_at
    # The beat is written at most once a second, so it was up to that old when the run stopped.
    assert status["stall_bound"] >= 3.0 and waited >= status["stall_bound"] - HEARTBEAT_EVERY
    assert waited < status["stall_bound"] + 30  # within the bound (and polling slack)
    assert "no progress for" in status["message"] and "Stop it" in status["message"]
    summary = jobs.summarize(hung)
    assert summary.state == "stalled" and summary.active
    assert summary.progress_text().startswith("stalled at epoch")

    # The run behind it ends it after twice the bound and trains.
    wait_until(lambda: state(behind) in ("running", "completed"), 180)
    ended = jobs.job_state(hung)
    assert ended["state"] == "crashed" and ended["message"].startswith("stalled: no progress")
    assert not hung.is_locked()
    with pytest.raises(ProcessLookupError):  # the stopped process is gone, not left behind
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    wait_until(lambda: state(behind) == "completed", 180)

    # Its last checkpoint is intact: it resumes like any crashed run.
    assert hung.has_checkpoint("last") or hung.read_metrics()
    jobs.resume(hung)
    wait_until(lambda: state(hung) == "running" and has_batches(hung.path), 180)
    jobs.stop(hung)
    wait_until(lambda: state(hung) == "stopped", 180)


def test_stop_ends_a_stalled_run_that_cannot_read_its_stop_file(runs_root: Path) -> None:
    hung = jobs.submit(
        TrainConfig(epochs=20, train_subset=8_192, workers=1), runs_root, run_id="hung"
    )
    wait_until(lambda: has_batches(hung.path))
    pid = hung.lock_holder_pid()
    os.kill(pid, signal.SIGSTOP)
    wait_until(lambda: state(hung) == "stalled", 120)
    listing = subprocess.run(
        [sys.executable, "-m", "core.training.jobs", "status", str(runs_root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    assert "hung  stalled" in listing.stdout and "no progress for" in listing.stdout
    with pytest.raises(ValueError, match="still stalled: stop it first"):
        jobs.delete(hung)
    jobs.stop(hung)
    assert state(hung) == "crashed"
    assert "stopped by request" in jobs.job_state(hung)["message"]
    wait_until(lambda: subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode)


def test_a_refused_heartbeat_leaves_no_temp_file(tmp_path: Path) -> None:
    """A beat the disk refuses (here a real file-size limit of 16 bytes, RLIMIT_FSIZE, in a
    child) raises naming heartbeat.json and leaves no .part behind; the run's crash then says
    it (tests/test_disk_full.py)."""
    import resource

    script = (
        "import sys\nfrom pathlib import Path\nfrom core.runs.store import Run\n"
        "try:\n    Run(Path(sys.argv[1])).write_heartbeat(7, 0.5)\n"
        "except OSError as error:\n    print(error.errno, Path(error.filename).name)\n"
    )

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))

    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limited,
        cwd=REPO_ROOT,
    )
    assert done.stdout.split() == ["27", "heartbeat.json"], done.stdout + done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []
