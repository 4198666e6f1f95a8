"""Training jobs: each run is its own OS process, independent of any Streamlit session.

    submit(config)  -> a new run folder, status `queued`, and a detached process for it
    stop(run)       -> asks the run to stop: it finishes its batch, checkpoints, ends `stopped`
                       (a queued run ends `stopped` without starting)
    resume(run)     -> a new process that continues the run from its last checkpoint
    delete(run)     -> removes a run's folder (a queued one is stopped first)
    job_state(run)  -> the status file, corrected: a run nobody trains any more is `crashed`

Who trains a run is the holder of the run's lock (core/runs/store.py), for the command line and
the jobs alike. `submit` and `resume` take the lock here, before the run is marked queued, and
hand it to the job process (inherited fd, $CNN_RUN_LOCK_FD), so a run is never seen queued
with nobody holding it. The job first waits for a slot (at most `max_parallel` runs train at
a time, oldest queued first; in classroom mode taking turns over students), then replaces
itself (exec, same PID) with `python -m core.train --run-dir ... --resume`, which adopts the
lock. The run next in line, while every slot is busy, loads torch and MNIST in the meantime and
then trains in the same process instead (`_Preload`), so slot time is training time.
A slot is an exclusive `flock` on a file in `<runs root>/.slots/`, inherited across exec in
the same way. The kernel drops both locks when the process ends however it ends, so a killed
run never keeps either.

Stop is a file in the run folder (`stop.request`), read by the waiting job and, every batch,
by the trainer: a signal could land while the trainer's interpreter is still starting, before
it can handle one, and kill it.

A stalled run (alive, holding its lock and slot, but no heartbeat within its bound:
core/runs/store.py) cannot read a file, so Stop ends it by signal (`end_stalled`: SIGTERM and
SIGCONT, then SIGKILL, to its whole process group when it leads one, so data-parallel workers go
with it) and marks it `crashed` saying why; it resumes from its last checkpoint like any crash.
The queue does not wait behind one forever: the run next in line ends a run stalled for
KILL_AFTER_STALLS times its bound, and takes the slot.
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
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.files import StorageError, atomic_write_json, describe_storage_error, is_storage_error
from core.i18n import N_, _
from core.runs.owners import (
    RunLimitError,
    Viewer,
    owner_of,
    owners_lock_path,
    valid_owner,
    write_owner,
)
from core.runs.store import (
    ACTIVE_STATES,
    LOCK_FD_ENV,
    LOG_FILE,
    Run,
    RunBusyError,
    RunDamagedError,
    create_run,
    default_runs_dir,
    list_runs,
    open_run,
    read_json,
    validate_run_id,
)

if TYPE_CHECKING:  # the queue's process waits without torch; the config module imports it
    from core.training.config import TrainConfig

MAX_PARALLEL_ENV = "CNN_MAX_PARALLEL_RUNS"
DEFAULT_MAX_PARALLEL = 1  # two torch processes on 2 cores slow each other down many times
POLL_SECONDS = 0.5
PRELOAD_ENV = "CNN_QUEUE_PRELOAD"  # "0": the run next in line does not load ahead (a baseline)
JOB_FILE = "job.json"
DELETE_WAIT_SECONDS = 5.0
KILL_AFTER_STALLS = 2.0  # the queue ends a run stalled this many times its stall bound
TERM_WAIT_SECONDS = 5.0  # after SIGTERM, before SIGKILL


# A run's state as a page names it (the status files and the command line keep the English).
STATE_NAMES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "stalled": N_("stalled"),
    "completed": N_("completed"),
    "stopped": N_("stopped"),
    "diverged": N_("diverged"),
    "failed": N_("failed"),
    "crashed": N_("crashed"),
    "damaged": N_("damaged"),
}


def state_name(state: str) -> str:
    """`state` in the current language."""
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


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
    command = [sys.executable, "-m", "core.training.jobs", "work", str(run.path.resolve())]
    try:
        with open(run.path / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=Path(__file__).resolve().parents[2],
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


def submit(
    config,
    runs_root: Path | None = None,
    run_id: str | None = None,
    owner: str | None = None,
    limit: int | None = None,
) -> Run:
    """Create the run (status `queued`) and start its job process. Returns at once.

    With `owner` (classroom mode) the run is recorded as that student's, and with `limit`
    it is refused (RunLimitError) when the student already has that many queued or training."""
    (run,) = submit_all([config], runs_root, owner=owner, limit=limit, run_ids=[run_id])
    return run


def submit_all(
    configs: list,
    runs_root: Path | None = None,
    owner: str | None = None,
    limit: int | None = None,
    run_ids: list[str | None] | None = None,
) -> list[Run]:
    """Submit several runs (a sweep) at once: all of them, or none when the student's limit
    would be passed. The check and the new runs happen under one lock on the runs root, so
    two servers (or two tabs) cannot both slip under the limit."""
    valid_owner(owner)
    root = Path(runs_root) if runs_root else default_runs_dir()
    run_ids = run_ids or [None] * len(configs)
    run_dirs = [root / validate_run_id(r) if r else None for r in run_ids]
    from core.training.disk import ensure_room

    for config in configs:  # each needs its room; several at once are checked one by one
        ensure_room(config, root)
    started: list[Run] = []
    try:
        with _within_limit(root, owner, limit, len(configs)):
            for config, run_dir in zip(configs, run_dirs, strict=True):
                run, lock = create_run(asdict(config), run_dir, root)
                try:
                    write_owner(run, owner)
                    run.write_status("queued", "waiting for a free slot", queued_at=time.time())
                except BaseException:
                    os.close(lock)
                    shutil.rmtree(run.path, ignore_errors=True)  # never started: no run
                    raise
                _spawn(run, lock)
                started.append(run)
    except OSError as error:
        if not is_storage_error(error) or isinstance(error, StorageError):
            raise
        done = f" ({len(started)} of {len(configs)} started)" if started else ""
        advice = f": free some space, then start it again{done}"
        raise StorageError(error, describe_storage_error(error, root) + advice) from None
    return started


@contextmanager
def _within_limit(root: Path, owner: str | None, limit: int | None, adding: int) -> Iterator[None]:
    """With an owner and a limit: refuse (RunLimitError) when `adding` more runs would take
    the student past it, else hold an exclusive lock on the runs root's owners file while the
    caller queues them, so that two servers cannot both slip under the limit. Without: nothing."""
    if owner is None or limit is None:
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(owners_lock_path(root), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _check_limit(root, owner, limit, adding)
        yield
    finally:
        os.close(fd)  # releases the lock


def active_runs_of(owner: str, runs_root: Path | None = None) -> list[Run]:
    """The student's runs that are queued or training now."""
    mine = []
    for run in list_runs(runs_root):
        if owner_of(run) != owner:
            continue
        if is_active(run):
            mine.append(run)
    return mine


def _check_limit(root: Path, owner: str, limit: int, adding: int) -> None:
    active = active_runs_of(owner, root)
    if len(active) + adding > limit:
        have = ", ".join(run.id for run in active) or _("none")
        allowed = (
            _("this class allows 1 run per student queued or training at a time")
            if limit == 1
            else _("this class allows {limit} runs per student queued or training at a time")
        ).format(limit=limit)
        asked = (
            _("you have {count} ({runs}) and asked for {adding} more")
            if adding > 1
            else _("you have {count} ({runs})")
        ).format(count=len(active), runs=have, adding=adding)
        raise RunLimitError(
            _("{allowed}; {asked}: wait for it to finish, or stop it").format(
                allowed=allowed, asked=asked
            )
        )


def resume(run: Run, viewer: Viewer | None = None, limit: int | None = None) -> None:
    """Start a new job for a stopped, crashed or failed run (from its last checkpoint).

    With a classroom `viewer`, only the run's owner or the teacher may, and a student's
    `limit` of runs queued or training counts the resumed run."""
    from core.training.saved import load_config

    if viewer is not None:
        viewer.check_manage(run, "resume")
    state = job_state(run).get("state")
    if state in ACTIVE_STATES:
        raise ValueError(
            _("run {run_id} is {state}; it cannot be resumed twice").format(
                run_id=run.id, state=state_name(state)
            )
        )
    if state == "completed":
        raise ValueError(
            _("run {run_id} has completed; there is nothing to resume").format(run_id=run.id)
        )
    load_config(run)  # a damaged config is refused here, not in a process nobody watches
    student = viewer is not None and viewer.classroom and not viewer.teacher
    with _within_limit(run.path.parent, viewer.owner if student else None, limit, 1):
        try:
            lock = run.acquire_lock()
        except RunBusyError as error:
            raise ValueError(str(error)) from None
        try:
            try:
                run.clear_stop_request()
                queued = time.time()
                run.write_status("queued", "waiting for a free slot (resume)", queued_at=queued)
            except BaseException:
                os.close(lock)
                raise
            _spawn(run, lock)  # hands the lock to the job, or closes it
        except OSError as error:
            if not is_storage_error(error):
                raise
            message = describe_storage_error(error, run.path) + ": free some space, then resume"
            try:
                run.write_status("crashed", message)  # what it was, and now why it stays so
            except OSError:
                pass
            raise StorageError(error, message) from None


def stop(run: Run, viewer: Viewer | None = None) -> None:
    """Ask the run to stop: a running one after its current batch (it checkpoints and ends
    `stopped`), a queued one before it starts, a stalled one by signal (`end_stalled`). A run
    nobody trains is left as it is. With a classroom `viewer`, only the run's owner or the
    teacher may."""
    if viewer is not None:
        viewer.check_manage(run, "stop")
    if not run.is_locked():
        return
    try:
        stalled = run.stall()
    except RunDamagedError:
        stalled = None
    if stalled is not None:
        end_stalled(run, stalled[0], "stopped by request")
    else:
        run.request_stop()


def _signal_trainer(pid: int, sig: int) -> None:
    """`sig` to the trainer, and to its process group when it leads one (a job: its own
    session, data-parallel workers included; never a terminal's group that merely holds it)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_unlocked(run: Run, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while run.is_locked():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def end_stalled(run: Run, stalled_for: float, why: str) -> bool:
    """End a stalled run's process (SIGTERM and SIGCONT, then SIGKILL after TERM_WAIT_SECONDS)
    and mark it `crashed` with the reason; True when it ended. Its last checkpoint is intact:
    resume continues from there."""
    pid = run.lock_holder_pid()
    if pid is None or pid == os.getpid():
        return False
    how = "SIGTERM"
    _signal_trainer(pid, signal.SIGTERM)
    _signal_trainer(pid, signal.SIGCONT)  # a stopped process handles its SIGTERM only once woken
    if not _wait_unlocked(run, TERM_WAIT_SECONDS):
        how = "SIGKILL"
        _signal_trainer(pid, signal.SIGKILL)
        if not _wait_unlocked(run, 10.0):
            return False
    try:
        lock = run.acquire_lock(wait=0.0)
    except RunBusyError:
        return True  # resumed by someone else at once: theirs now
    try:
        status = run.read_status()
        if status["state"] not in ("completed", "diverged", "failed"):
            extra = {k: v for k, v in status.items() if k in ("epoch", "epochs")}
            message = (
                f"stalled: no progress for {stalled_for:.0f} s, so it was ended ({why}, {how});"
                " resume to continue from its last checkpoint"
            )
            run.write_status("crashed", message, **extra)
            print(f"run {run.id}: {message}", file=sys.stderr, flush=True)
    except RunDamagedError:
        pass
    finally:
        os.close(lock)
    return True


def end_stalled_runs(root: Path) -> list[str]:
    """End every run under `root` stalled for more than KILL_AFTER_STALLS times its bound:
    what the run next in line does, so the queue never waits behind a hung trainer."""
    ended = []
    if not root.is_dir():
        return ended
    for path in root.iterdir():
        if not (path / "status.json").is_file():
            continue
        run = Run(path)
        try:
            found = run.stall()
        except RunDamagedError:
            continue
        if found is None or not run.is_locked():
            continue
        age, bound, _unused = found
        if age > KILL_AFTER_STALLS * bound and end_stalled(
            run, age, f"the queue waited behind it for more than {KILL_AFTER_STALLS * bound:.0f} s"
        ):
            ended.append(run.id)
    return ended


def delete(run: Run, viewer: Viewer | None = None) -> None:
    """Remove a run's folder. A queued run is stopped first; a running one is refused.
    With a classroom `viewer`, only the run's owner or the teacher may."""
    validate_run_id(run.id)
    if viewer is not None:
        viewer.check_manage(run, "delete")
    try:
        state = job_state(run).get("state")
    except RunDamagedError:
        state = "running" if run.is_locked() else "damaged"
    if state in ("running", "stalled"):
        raise ValueError(
            _("run {run_id} is still {state}: stop it first").format(
                run_id=run.id, state=state_name(state)
            )
        )
    if state == "queued":
        run.request_stop()
        deadline = time.monotonic() + DELETE_WAIT_SECONDS
        while run.is_locked():
            if time.monotonic() > deadline:
                raise ValueError(
                    _("run {run_id} did not leave the queue: try again").format(run_id=run.id)
                )
            time.sleep(0.05)
    shutil.rmtree(run.path)


# ------------------------------------------------------------------ the job process


def queue_order(root: Path) -> list[Run]:
    """The live queued runs in the order they will get a slot: oldest first, but a student
    who already has runs training or queued waits behind everyone's first run (round robin
    over students; with one run per student, as in a classroom by default, this is plain
    first come, first served). A run with no owner counts as its own student."""
    queued: list[tuple[float, Run]] = []
    turns: Counter[str] = Counter()
    if not root.is_dir():
        return []
    for path in root.iterdir():
        if not (path / "status.json").is_file():
            continue
        run = Run(path)
        try:
            status = run.read_status()
        except RunDamagedError:
            continue
        state = status.get("state")
        if state not in ACTIVE_STATES or not run.is_locked():
            continue
        if state == "running":
            turns[owner_of(run) or run.id] += 1
        else:
            queued_at = status.get("queued_at", 0.0)
            queued.append((queued_at if isinstance(queued_at, int | float) else 0.0, run))
    ranked = []
    for queued_at, run in sorted(queued, key=lambda pair: (pair[0], pair[1].id)):
        student = owner_of(run) or run.id
        ranked.append((turns[student], queued_at, run.id, run))
        turns[student] += 1
    return [run for *_unused, run in sorted(ranked, key=lambda item: item[:3])]


def _queued_before(run: Run, root: Path) -> int:
    """How many live queued runs get a slot before this one."""
    for position, other in enumerate(queue_order(root)):
        if other.path == run.path:
            return position
    return 0


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


class _Preload:
    """While this run is next in line and every slot is busy, import torch and load MNIST in
    a background thread, so that when a slot frees up the run trains at once instead of
    spending its first seconds of slot time starting up (about 4 s here: a third of the slot's
    time when a class queues quick runs, benchmarks/classroom_training.py). Only the run next
    in line does it, so a long queue does not hold many copies of MNIST in memory. The main
    thread keeps polling for Stop meanwhile."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.thread: threading.Thread | None = None
        self.splits = None

    def start(self) -> None:
        if self.thread is None:
            print("next in line: loading torch and MNIST while the slot is busy", flush=True)
            self.thread = threading.Thread(target=self._load, name="preload", daemon=True)
            self.thread.start()

    def _load(self) -> None:
        try:
            import core.training.cli  # noqa: F401 - torch and the trainer, imported ahead of time
            from core.model import mnist
            from core.training.saved import load_config

            config = load_config(self.run)
            self.splits = mnist.load_mnist(config.data_dir, config.validation_size)
        except Exception:  # noqa: BLE001 - the trainer itself reports what is wrong
            self.splits = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def result(self):
        if self.thread is not None:
            self.thread.join()
        return self.splits


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
    from core.training.ray_jobs import ray_address

    address = ray_address()
    root = run.path.parent
    if address is not None:  # Ray's scheduler, not a slot here, decides where and when
        from core.training.ray_jobs import drive

        try:
            return drive(run, address, queue=lambda: queue_order(root))
        finally:
            os.close(lock)
    root = run.path.parent
    slots = max_parallel()
    preload = _Preload(run)
    while True:
        if run.stop_requested():
            run.write_status("stopped", "stopped while queued; resume to start it")
            run.clear_stop_request()
            if preload.busy:  # do not wait for an import in the other thread to finish
                sys.stdout.flush()
                os._exit(0)
            return 0
        ahead = _queued_before(run, root)
        if ahead < slots and _take_slot(root, slots) is not None:
            break
        if ahead == 0:  # first in line: a hung trainer must not hold the slot forever
            end_stalled_runs(root)
        if ahead < slots and os.environ.get(PRELOAD_ENV, "1") != "0":
            preload.start()  # next in line: every slot is busy, but not for long
        time.sleep(POLL_SECONDS)
    # --resume trains with the run's saved config, from its last checkpoint if it has one.
    os.set_inheritable(lock, True)
    os.environ[LOCK_FD_ENV] = str(lock)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    argv = ["--run-dir", str(run.path), "--resume"]
    splits = preload.result()
    if splits is not None:  # train here, with what was loaded while waiting
        from core.training.cli import main as train_main

        print("MNIST and torch were loaded while queued: training starts at once", flush=True)
        return train_main(argv, splits=splits)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "core.training", *argv])  # same PID, same locks


def print_status(runs_root: Path | None) -> int:
    """One line a run, as the pages see it (stalled and crashed runs included)."""
    runs = list_runs(runs_root)
    if not runs:
        print(f"no runs in {runs_root or default_runs_dir()}")
    for run in runs:
        summary = summarize(run)
        line = f"{summary.id}  {summary.state:<9} {summary.progress_text()}"
        if summary.state in ("stalled", "crashed", "failed", "damaged") and summary.message:
            line += f"\n    {summary.message.splitlines()[0]}"
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    work_parser = sub.add_parser("work", help="(internal) wait for a slot, then train a run")
    work_parser.add_argument("run_dir", type=Path)
    status_parser = sub.add_parser("status", help="each run's state, as the pages show it")
    status_parser.add_argument("runs_root", type=Path, nargs="?", default=None)
    stop_parser = sub.add_parser("stop", help="stop a run (a stalled one is ended by signal)")
    stop_parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "status":
        return print_status(args.runs_root)
    if args.command == "stop":
        try:
            stop(open_run(args.run_dir))
        except (ValueError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    return work(args.run_dir)


# ------------------------------------------------------------------ summaries for tables


@dataclass
class RunSummary:
    """What a runs table shows about one run, read from its folder.

    A run whose folder cannot be read has state `damaged`, the reason in `message`, and no
    numbers: one broken row, never a broken page."""

    id: str
    state: str
    message: str | None
    config: TrainConfig | None = None  # None for a damaged run
    epochs_done: int = 0
    batch_in_epoch: int = 0
    best_epoch: int | None = None
    best_val_error: float | None = None
    last_train_loss: float | None = None
    test_risk: float | None = None
    started: float | None = None
    duration_s: float | None = None
    images_per_second: float | None = None
    heartbeat_age_s: float | None = None  # since the trainer last showed progress (running)
    missing: tuple[str, ...] = ()  # files it should hold and does not (Run.missing_files)

    @property
    def damaged(self) -> bool:
        return self.state == "damaged"

    # What the run was started with: read from its config, never copied field by field.
    @property
    def lr(self) -> float | None:
        return self.config.lr if self.config else None

    @property
    def epochs(self) -> int:
        return self.config.epochs if self.config else 0

    @property
    def seed(self) -> int | None:
        return self.config.seed if self.config else None

    @property
    def train_images(self) -> int | None:
        return self.config.train_images if self.config else None

    @property
    def batch_size(self) -> int | None:
        return self.config.batch_size if self.config else None

    @property
    def group(self) -> str | None:
        return self.config.group if self.config else None

    @property
    def batches_per_epoch(self) -> int:
        return self.config.batches_per_epoch if self.config else 1

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
            return _("queued, waiting for a free slot")
        if self.state == "stalled":
            return _("stalled at epoch {epoch}/{epochs}: no progress (see why)").format(
                epoch=self.epochs_done + 1, epochs=self.epochs
            )
        if self.state != "running":
            return state_name(self.state)
        if self.epochs_done >= self.epochs:
            return _(
                "{epochs}/{epochs} epochs trained; testing the best epoch's weights on the"
                " 10,000 test images"
            ).format(epochs=self.epochs)
        if self.batches_done == 0:
            return _("starting: loading MNIST and the model (epoch 1/{epochs})").format(
                epochs=self.epochs
            )
        if self.batch_in_epoch >= self.batches_per_epoch:
            return _(
                "epoch {epoch}/{epochs}: all {batches} batches done, measuring the validation error"
            ).format(epoch=self.epochs_done + 1, epochs=self.epochs, batches=self.batches_per_epoch)
        return _("epoch {epoch}/{epochs}, batch {batch}/{batches}").format(
            epoch=self.epochs_done + 1,
            epochs=self.epochs,
            batch=self.batch_in_epoch,
            batches=self.batches_per_epoch,
        )


def damaged_summary(run: Run, error: RunDamagedError) -> RunSummary:
    return RunSummary(id=run.id, state="damaged", message=str(error))


def summarize(run: Run, metrics: list[dict] | None = None) -> RunSummary:
    """The run's row; a folder that cannot be read gives a `damaged` row (never raises
    RunDamagedError)."""
    from core.training.saved import load_config

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
        config=config,
        epochs_done=len(epochs),
        batch_in_epoch=in_epoch,
        best_epoch=last_epoch.get("best_epoch") if last_epoch else None,
        best_val_error=last_epoch.get("best_val_error") if last_epoch else None,
        last_train_loss=last_epoch.get("train_loss") if last_epoch else None,
        test_risk=test.get("test_risk") if test else None,
        started=started,
        duration_s=(end - started) if (started and end) else None,
        images_per_second=speed,
        heartbeat_age_s=heartbeat_age(run, status),
        missing=tuple(run.missing_files(status["state"], max(len(epochs), status_epoch(status)))),
    )


def status_epoch(status: dict) -> int:
    epoch = status.get("epoch", 0)
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0


def heartbeat_age(run: Run, status: dict) -> float | None:
    """Seconds since a running run's last heartbeat (or its start), None when not running."""
    if status.get("state") not in ("running", "stalled"):
        return None
    beat = run.read_heartbeat()
    times = [t for t in (status.get("updated"), beat and beat["time"]) if t]
    return max(0.0, time.time() - max(times)) if times else None


# ------------------------------------------------------------------ the queue, as students see it

START_UP_SECONDS = 3.0  # a job's process start, imports and MNIST loading before its first batch


def typical_speed(summaries: list[RunSummary]) -> float | None:
    """Images/s of recent runs on this machine (the median of the newest five that measured
    it), the yardstick for how long a queued run will take."""
    speeds = [s.images_per_second for s in summaries if s.images_per_second][:5]
    if not speeds:
        return None
    speeds.sort()
    return speeds[len(speeds) // 2]


def estimated_starts(
    running: list[RunSummary], queued: list[RunSummary], slots: int, speed: float | None
) -> dict[str, tuple[int, float | None]]:
    """For each queued run (given in queue order): its position (1 = next) and the seconds
    until it should start, or None while nothing has measured the machine's speed yet.

    Slots free up as running runs finish (their ETA) and queued runs ahead take them for
    their expected length (epochs x images / speed, plus start-up)."""

    def length(summary: RunSummary) -> float | None:
        if not speed or not summary.train_images:
            return None
        return START_UP_SECONDS + summary.epochs * summary.train_images / speed

    free_at: list[float | None] = []
    for summary in running[:slots]:
        remaining = summary.eta_s
        if remaining is None:
            total = length(summary)
            remaining = None if total is None else total * (1.0 - summary.progress)
        free_at.append(remaining)
    free_at += [0.0] * max(0, slots - len(free_at))
    result: dict[str, tuple[int, float | None]] = {}
    for position, summary in enumerate(queued, start=1):
        if any(t is None for t in free_at):
            result[summary.id] = (position, None)
            continue
        index = min(range(len(free_at)), key=lambda i: free_at[i])
        start = free_at[index]
        result[summary.id] = (position, start)
        total = length(summary)
        free_at[index] = None if total is None else start + total
    return result


if __name__ == "__main__":
    sys.exit(main())
