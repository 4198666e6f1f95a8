"""Training jobs: each run is its own OS process, independent of any Streamlit session.

    submit(config)  -> a new run folder, status `queued`, and a detached process for it
    stop(run)       -> asks the run to stop: it finishes its batch, checkpoints, ends `stopped`
                       (a queued run ends `stopped` without starting)
    resume(run)     -> a new process that continues the run from its last checkpoint
    delete(run)     -> removes a run's folder (a queued one is stopped first)
    job_state(run)  -> the status file, corrected: a run nobody trains any more is `crashed`

Who trains a run is the holder of the run's lock (core/runs.py), for the command line and
the jobs alike. `submit` and `resume` take the lock here, before the run is marked queued, and
hand it to the job process (inherited fd, $CNN_RUN_LOCK_FD), so a run is never seen queued
with nobody holding it. The job first waits for a slot (at most `max_parallel` runs train at
a time, oldest queued first), then replaces itself (exec, same PID) with
`python -m core.train --run-dir ... --resume`, which adopts the lock. A slot is an exclusive
`flock` on a file in `<runs root>/.slots/`, inherited across exec in the same way. The kernel
drops both locks when the process ends however it ends, so a killed run never keeps either.

Stop is a file in the run folder (`stop.request`), read by the waiting job and, every batch,
by the trainer: a signal could land while the trainer's interpreter is still starting, before
it can handle one, and kill it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.files import atomic_write_json
from core.runs import (
    ACTIVE_STATES,
    LOCK_FD_ENV,
    LOG_FILE,
    Run,
    RunBusyError,
    RunDamagedError,
    create_run,
    default_runs_dir,
    open_run,
    read_json,
    validate_run_id,
)

MAX_PARALLEL_ENV = "CNN_MAX_PARALLEL_RUNS"
DEFAULT_MAX_PARALLEL = 1  # two torch processes on 2 cores slow each other down many times
POLL_SECONDS = 0.5
JOB_FILE = "job.json"
DELETE_WAIT_SECONDS = 5.0


def max_parallel() -> int:
    try:
        return max(1, int(os.environ.get(MAX_PARALLEL_ENV, DEFAULT_MAX_PARALLEL)))
    except ValueError:
        return DEFAULT_MAX_PARALLEL


# ------------------------------------------------------------------ process bookkeeping


def job_info(run: Run) -> dict | None:
    try:
        info = read_json(run.path / JOB_FILE)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def output_tail(run: Run, lines: int = 15) -> str:
    return run.output_tail(lines)


def job_state(run: Run) -> dict:
    """The run's status, with `crashed` when nobody holds its lock before a final state.
    Raises RunDamagedError for a status file that cannot be read."""
    return run.current_status()


def is_active(run: Run) -> bool:
    try:
        return job_state(run).get("state") in ACTIVE_STATES
    except RunDamagedError:
        return run.is_locked()


# ------------------------------------------------------------------ submitting


def _spawn(run: Run, lock: int) -> int:
    """Start the job process with the run's lock, detached (own session: survives the
    server). Closes this process's copy of the lock: from now on the job holds it."""
    command = [sys.executable, "-m", "core.jobs", "work", str(run.path.resolve())]
    try:
        with open(run.path / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=Path(__file__).resolve().parent.parent,
                pass_fds=(lock,),
                env={**os.environ, LOCK_FD_ENV: str(lock)},
            )
        Run.write_lock_holder(lock, process.pid)
        atomic_write_json(run.path / JOB_FILE, {"pid": process.pid, "started": time.time()})
    finally:
        os.close(lock)
    _reap_when_done(process)
    return process.pid


def _reap_when_done(process: subprocess.Popen) -> None:
    """Wait for the child in a thread, so a finished job never lingers as a zombie in a
    long-lived server."""
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def submit(config, runs_root: Path | None = None, run_id: str | None = None) -> Run:
    """Create the run (status `queued`) and start its job process. Returns at once."""
    config.validate()
    root = Path(runs_root) if runs_root else default_runs_dir()
    run_dir = root / validate_run_id(run_id) if run_id else None
    run, lock = create_run(asdict(config), run_dir, root)
    try:
        run.write_status("queued", "waiting for a free slot", queued_at=time.time())
    except BaseException:
        os.close(lock)
        raise
    _spawn(run, lock)
    return run


def resume(run: Run) -> None:
    """Start a new job for a stopped, crashed or failed run (from its last checkpoint)."""
    from core.config import load_config

    state = job_state(run).get("state")
    if state in ACTIVE_STATES:
        raise ValueError(f"run {run.id} is {state}; it cannot be resumed twice")
    if state == "completed":
        raise ValueError(f"run {run.id} has completed; there is nothing to resume")
    load_config(run)  # a damaged config is refused here, not in a process nobody watches
    try:
        lock = run.acquire_lock()
    except RunBusyError as error:
        raise ValueError(str(error)) from None
    try:
        run.clear_stop_request()
        run.write_status("queued", "waiting for a free slot (resume)", queued_at=time.time())
    except BaseException:
        os.close(lock)
        raise
    _spawn(run, lock)


def stop(run: Run) -> None:
    """Ask the run to stop: a running one after its current batch (it checkpoints and ends
    `stopped`), a queued one before it starts. A run nobody trains is left as it is."""
    if run.is_locked():
        run.request_stop()


def delete(run: Run) -> None:
    """Remove a run's folder. A queued run is stopped first; a running one is refused."""
    validate_run_id(run.id)
    try:
        state = job_state(run).get("state")
    except RunDamagedError:
        state = "running" if run.is_locked() else "damaged"
    if state == "running":
        raise ValueError(f"run {run.id} is still running: stop it first")
    if state == "queued":
        run.request_stop()
        deadline = time.monotonic() + DELETE_WAIT_SECONDS
        while run.is_locked():
            if time.monotonic() > deadline:
                raise ValueError(f"run {run.id} did not leave the queue: try again")
            time.sleep(0.05)
    shutil.rmtree(run.path)


# ------------------------------------------------------------------ the job process


def _queued_before(run: Run, root: Path) -> int:
    """How many live queued runs were queued before this one (FIFO position)."""
    try:
        mine = run.read_status().get("queued_at", 0.0)
    except RunDamagedError:
        mine = 0.0
    ahead = 0
    for path in root.iterdir():
        if path == run.path or not (path / "status.json").is_file():
            continue
        other = Run(path)
        try:
            status = other.read_status()
        except RunDamagedError:
            continue
        queued_at = status.get("queued_at", 0.0)
        if status.get("state") != "queued" or not isinstance(queued_at, int | float):
            continue
        if queued_at < mine and other.is_locked():
            ahead += 1
    return ahead


def _take_slot(root: Path, slots: int) -> int | None:
    """An exclusive lock on one free slot file; the fd stays open (and inheritable)."""
    directory = root / ".slots"
    directory.mkdir(exist_ok=True)
    for index in range(slots):
        fd = os.open(directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.set_inheritable(fd, True)
        return fd
    return None


def work(run_dir: Path) -> int:
    """Wait in the queue for a slot, holding the run's lock, then become the trainer."""
    run = open_run(run_dir)
    lock = run.inherited_lock()
    if lock is None:  # started by hand: take the lock ourselves
        try:
            lock = run.acquire_lock()
        except RunBusyError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    # A SIGTERM while queued (a user's kill) is a stop too, not a crash.
    signal.signal(signal.SIGTERM, lambda *_: run.request_stop())
    root = run.path.parent
    slots = max_parallel()
    while True:
        if run.stop_requested():
            run.write_status("stopped", "stopped while queued; resume to start it")
            run.clear_stop_request()
            return 0
        if _queued_before(run, root) < slots and _take_slot(root, slots) is not None:
            break
        time.sleep(POLL_SECONDS)
    # --resume trains with the run's saved config, from its last checkpoint if it has one.
    os.set_inheritable(lock, True)
    os.environ[LOCK_FD_ENV] = str(lock)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    command = [sys.executable, "-m", "core.train", "--run-dir", str(run.path), "--resume"]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # same PID; the run's lock and the slot go with it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    work_parser = sub.add_parser("work", help="(internal) wait for a slot, then train a run")
    work_parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    return work(args.run_dir)


if __name__ == "__main__":
    sys.exit(main())


# ------------------------------------------------------------------ summaries for tables


@dataclass
class RunSummary:
    """What a runs table shows about one run, read from its folder.

    A run whose folder cannot be read has state `damaged`, the reason in `message`, and no
    numbers: one broken row, never a broken page."""

    id: str
    state: str
    message: str | None
    lr: float | None = None
    epochs: int = 0
    seed: int | None = None
    train_images: int | None = None
    batch_size: int | None = None
    group: str | None = None
    epochs_done: int = 0
    batches_per_epoch: int = 1
    batch_in_epoch: int = 0
    best_epoch: int | None = None
    best_val_error: float | None = None
    last_train_loss: float | None = None
    test_risk: float | None = None
    started: float | None = None
    duration_s: float | None = None
    images_per_second: float | None = None

    @property
    def damaged(self) -> bool:
        return self.state == "damaged"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def batches_done(self) -> int:
        return self.epochs_done * self.batches_per_epoch + self.batch_in_epoch

    @property
    def progress(self) -> float:
        if self.state == "completed":
            return 1.0
        return min(1.0, self.batches_done / max(1, self.epochs * self.batches_per_epoch))

    @property
    def eta_s(self) -> float | None:
        if not self.images_per_second or self.state != "running" or not self.train_images:
            return None
        return (1.0 - self.progress) * self.epochs * self.train_images / self.images_per_second

    def progress_text(self) -> str:
        """One honest line: where the run is, never '100%' beside 'batch 0'."""
        if self.state == "queued":
            return "queued, waiting for a free slot"
        if self.state != "running":
            return self.state
        if self.epochs_done >= self.epochs:
            return (
                f"{self.epochs}/{self.epochs} epochs trained; testing the best epoch's weights"
                " on the 10,000 test images"
            )
        if self.batches_done == 0:
            return f"starting: loading MNIST and the model (epoch 1/{self.epochs})"
        if self.batch_in_epoch >= self.batches_per_epoch:
            return (
                f"epoch {self.epochs_done + 1}/{self.epochs}: all {self.batches_per_epoch}"
                " batches done, measuring the validation error"
            )
        return (
            f"epoch {self.epochs_done + 1}/{self.epochs},"
            f" batch {self.batch_in_epoch}/{self.batches_per_epoch}"
        )


def damaged_summary(run: Run, error: RunDamagedError) -> RunSummary:
    return RunSummary(id=run.id, state="damaged", message=str(error))


def summarize(run: Run, metrics: list[dict] | None = None) -> RunSummary:
    """The run's row; a folder that cannot be read gives a `damaged` row (never raises
    RunDamagedError)."""
    from core.config import load_config

    try:
        config = load_config(run)
        status = job_state(run)
        test = run.read_test()
    except RunDamagedError as error:
        return damaged_summary(run, error)
    metrics = run.read_metrics() if metrics is None else metrics
    epochs = [r for r in metrics if r.get("kind") == "epoch"]
    batches = [r for r in metrics if r.get("kind") == "batch"]
    last_epoch = epochs[-1] if epochs else None
    in_epoch = 0
    if batches and batches[-1]["epoch"] == len(epochs):
        in_epoch = batches[-1]["batch"]
    info = job_info(run)
    started = info.get("started") if info else None
    if not isinstance(started, int | float):
        started = metrics[0].get("time") if metrics else None
    updated = status.get("updated")
    end = time.time() if status["state"] in ACTIVE_STATES else updated
    speed = None
    if last_epoch and last_epoch.get("images_per_second"):
        speed = last_epoch["images_per_second"]
    elif len(batches) >= 2 and (batches[-1].get("time") or 0) > (batches[0].get("time") or 0):
        span_steps = batches[-1]["step"] - batches[0]["step"]
        speed = span_steps * config.batch_size / (batches[-1]["time"] - batches[0]["time"])
    return RunSummary(
        id=run.id,
        state=status["state"],
        message=status.get("message"),
        lr=config.lr,
        epochs=config.epochs,
        seed=config.seed,
        train_images=config.train_images,
        batch_size=config.batch_size,
        group=config.group,
        epochs_done=len(epochs),
        batches_per_epoch=config.batches_per_epoch,
        batch_in_epoch=in_epoch,
        best_epoch=last_epoch.get("best_epoch") if last_epoch else None,
        best_val_error=last_epoch.get("best_val_error") if last_epoch else None,
        last_train_loss=last_epoch.get("train_loss") if last_epoch else None,
        test_risk=test.get("test_risk") if test else None,
        started=started,
        duration_s=(end - started) if (started and end) else None,
        images_per_second=speed,
    )
