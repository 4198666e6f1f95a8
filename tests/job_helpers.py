"""What tests of training jobs share: wait for a job's state or its first batch, hold the
queue's only slot, and end every job a test started (a test never leaves a training process
behind)."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path

from core.runs.store import Run, list_runs
from core.training import jobs


def wait_until(predicate, timeout: float = 300.0, every: float = 0.02):
    """predicate()'s first true value. Generous: a loaded 2-core machine trains many times
    slower than an idle one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


def state(run: Run) -> str:
    return jobs.job_state(run)["state"]


def has_batches(run_dir: Path) -> bool:
    """Whether the run in `run_dir` has logged a training batch yet."""
    metrics = run_dir / "metrics.jsonl"
    return metrics.exists() and '"kind": "batch"' in metrics.read_text()


def hold_only_slot(root: Path) -> int:
    """Take slot 0 of `root`'s queue (the same `flock` a job takes) and return its descriptor:
    with CNN_MAX_PARALLEL_RUNS=1, runs queue and none trains until it is closed."""
    (root / ".slots").mkdir(parents=True, exist_ok=True)
    slot = os.open(root / ".slots" / "slot-0.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return slot


def kill_jobs(root: Path) -> None:
    """SIGKILL the job process of every run in `root`."""
    for run in list_runs(root):
        info = jobs.job_info(run)
        if info:
            try:
                os.kill(info["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
