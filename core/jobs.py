"""Training jobs: each run is its own OS process, independent of any Streamlit session.

    submit(config)  -> a new run folder, status `queued`, and a detached process for it
    stop(run)       -> SIGTERM: the run finishes its batch, checkpoints, ends as `stopped`
    resume(run)     -> a new process that continues the run from its last checkpoint
    delete(run)     -> removes a finished run's folder
    job_state(run)  -> the status file, corrected: a run whose process died is `crashed`

A job process first waits for a slot (at most `max_parallel` runs train at a time, oldest
queued first), holding no torch import while it waits, then replaces itself (exec, same PID)
with `python -m core.train --run-dir ...`. A slot is an exclusive `flock` on a file in
`<runs root>/.slots/`, inherited across exec and released by the kernel when the process
ends however it ends, so a killed run never keeps its slot. Nothing needs starting by hand.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.runs import (
    FINAL_STATES,
    Run,
    atomic_write_json,
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
LOG_FILE = "output.log"


def max_parallel() -> int:
    try:
        return max(1, int(os.environ.get(MAX_PARALLEL_ENV, DEFAULT_MAX_PARALLEL)))
    except ValueError:
        return DEFAULT_MAX_PARALLEL


# ------------------------------------------------------------------ process bookkeeping


def job_info(run: Run) -> dict | None:
    try:
        return read_json(run.path / JOB_FILE)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def process_alive(pid: int, run: Run) -> bool:
    """True when `pid` is alive and is this run's job (guards against PID reuse)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":  # a zombie has ended; its parent has not reaped it yet
            return False
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, IndexError, UnicodeDecodeError):
        return sys.platform != "linux"  # elsewhere the kill(0) answer is all we have
    if not cmdline.strip():
        return True  # mid-exec (the job becoming the trainer) the command line reads empty
    return str(run.path.resolve()) in cmdline or run.id in cmdline


def output_tail(run: Run, lines: int = 15) -> str:
    """The last lines of the job's output (its error message, when it crashed)."""
    try:
        text = (run.path / LOG_FILE).read_text(errors="replace")
    except FileNotFoundError:
        return ""
    # Progress bars redraw with carriage returns; keep only what a terminal would show.
    visible = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join([line for line in visible if line.strip()][-lines:])


def job_state(run: Run) -> dict:
    """The run's status, with `crashed` when its process is gone before a final state.

    A crash is found once and recorded in status.json, so pages that poll every second do
    not look for it again (resume starts the run over from `queued`)."""
    status = run.read_status()
    if status.get("state") in FINAL_STATES:
        return status
    info = job_info(run)
    if info is None or process_alive(int(info["pid"]), run):
        return status
    # The process is gone. It may have just written a final status as it ended: read again.
    time.sleep(0.05)
    status = run.read_status()
    if status.get("state") in FINAL_STATES:
        return status
    tail = output_tail(run)
    message = "the training process ended without saying why (killed, or out of memory)" + (
        f"; its last output:\n{tail}" if tail else ""
    )
    extra = {k: v for k, v in status.items() if k not in ("state", "message", "updated")}
    run.write_status("crashed", message, **extra)
    return run.read_status()


def is_active(run: Run) -> bool:
    return job_state(run).get("state") in ("queued", "running")


# ------------------------------------------------------------------ submitting


def _spawn(run: Run) -> int:
    """Start the job process, detached from this one (own session: survives the server)."""
    command = [sys.executable, "-m", "core.jobs", "work", str(run.path.resolve())]
    with open(run.path / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    atomic_write_json(run.path / JOB_FILE, {"pid": process.pid, "started": time.time()})
    _reap_later(process)
    return process.pid


_children: list[subprocess.Popen] = []


def _reap_later(process: subprocess.Popen) -> None:
    """Keep a handle so finished children are reaped (no zombies in a long-lived server)."""
    _children.append(process)
    _children[:] = [child for child in _children if child.poll() is None]


def submit(config, runs_root: Path | None = None, run_id: str | None = None) -> Run:
    """Create the run (status `queued`) and start its job process. Returns at once."""
    config.validate()
    root = Path(runs_root) if runs_root else default_runs_dir()
    run_dir = root / validate_run_id(run_id) if run_id else None
    run = create_run(asdict(config), run_dir, root)
    run.write_status("queued", "waiting for a free slot", queued_at=time.time())
    _spawn(run)
    return run


def resume(run: Run) -> None:
    state = job_state(run).get("state")
    if state in ("queued", "running"):
        raise ValueError(f"run {run.id} is {state}; it cannot be resumed twice")
    if state == "completed":
        raise ValueError(f"run {run.id} has completed; there is nothing to resume")
    run.write_status("queued", "waiting for a free slot (resume)", queued_at=time.time())
    _spawn(run)


def stop(run: Run) -> None:
    """Ask the run to stop after its current batch (it checkpoints and ends as `stopped`)."""
    info = job_info(run)
    if info is None or not process_alive(int(info["pid"]), run):
        return
    try:
        os.kill(int(info["pid"]), signal.SIGTERM)
    except ProcessLookupError:
        pass


def delete(run: Run) -> None:
    if is_active(run):
        raise ValueError(f"run {run.id} is still {job_state(run)['state']}: stop it first")
    validate_run_id(run.id)
    shutil.rmtree(run.path)


# ------------------------------------------------------------------ the job process


def _queued_before(run: Run, root: Path) -> int:
    """How many live queued runs were queued before this one (FIFO position)."""
    mine = run.read_status().get("queued_at", 0.0)
    ahead = 0
    for path in root.iterdir():
        if path == run.path or not (path / "status.json").is_file():
            continue
        other = Run(path)
        status = other.read_status()
        if status.get("state") != "queued" or status.get("queued_at", 0.0) >= mine:
            continue
        info = job_info(other)
        if info is not None and process_alive(int(info["pid"]), other):
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
    """Wait in the queue for a slot, then become the training process."""
    run = open_run(run_dir)
    root = run.path.parent
    stop_requested = {"yes": False}
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.__setitem__("yes", True))
    slots = max_parallel()
    while True:
        if stop_requested["yes"]:
            run.write_status("stopped", "stopped while queued; resume to start it")
            return 0
        if _queued_before(run, root) < slots and _take_slot(root, slots) is not None:
            break
        time.sleep(POLL_SECONDS)
    # --resume trains with the run's saved config, from its last checkpoint if it has one.
    command = [sys.executable, "-m", "core.train", "--run-dir", str(run.path), "--resume"]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # same PID, the slot's lock goes with it


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
    """What a runs table shows about one run, read from its folder."""

    id: str
    state: str
    message: str | None
    lr: float
    epochs: int
    seed: int
    train_images: int
    batch_size: int
    group: str | None
    epochs_done: int
    batches_per_epoch: int
    batch_in_epoch: int
    best_epoch: int | None
    best_val_error: float | None
    last_train_loss: float | None
    test_risk: float | None
    started: float | None
    duration_s: float | None
    images_per_second: float | None

    @property
    def progress(self) -> float:
        done = self.epochs_done * self.batches_per_epoch + self.batch_in_epoch
        return min(1.0, done / max(1, self.epochs * self.batches_per_epoch))

    @property
    def eta_s(self) -> float | None:
        if not self.images_per_second or self.state != "running":
            return None
        return (1.0 - self.progress) * self.epochs * self.train_images / self.images_per_second


def summarize(run: Run, metrics: list[dict] | None = None) -> RunSummary:
    from core.train import TrainConfig

    config = TrainConfig(**run.read_config())
    status = job_state(run)
    metrics = run.read_metrics() if metrics is None else metrics
    epochs = [r for r in metrics if r.get("kind") == "epoch"]
    batches = [r for r in metrics if r.get("kind") == "batch"]
    last_epoch = epochs[-1] if epochs else None
    in_epoch = 0
    if batches and batches[-1]["epoch"] == len(epochs):
        in_epoch = batches[-1]["batch"]
    test = run.read_test()
    info = job_info(run)
    started = info.get("started") if info else None
    if started is None and metrics:
        started = metrics[0].get("time")
    end = time.time() if status.get("state") in ("queued", "running") else status.get("updated")
    speed = None
    if last_epoch and last_epoch.get("images_per_second"):
        speed = last_epoch["images_per_second"]
    elif len(batches) >= 2 and batches[-1]["time"] > batches[0]["time"]:
        span_steps = batches[-1]["step"] - batches[0]["step"]
        speed = span_steps * config.batch_size / (batches[-1]["time"] - batches[0]["time"])
    return RunSummary(
        id=run.id,
        state=status.get("state", "unknown"),
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
