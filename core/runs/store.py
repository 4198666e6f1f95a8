"""Training runs on disk: one folder per run under `runs/` (or $CNN_RUNS_DIR).

A run folder holds
  config.json            the TrainConfig it was started with
  status.json            queued / running / completed / stopped / diverged / failed / crashed
  run.lock               locked (flock) by the one process that queues or trains the run
  metrics.jsonl          one JSON object per line: batch losses, epoch summaries
  last.pt, best.pt       checkpoints (model, optimizer, position, RNG state), loadable with
                         torch.load(..., weights_only=True)
  test.json              test risk and summary of the best model on the 10,000 test images
  test_predictions.npz   per-image labels, predictions and probabilities
  stop.request           present when someone asked the run to stop (the page's Stop)
  heartbeat.json         the trainer's last sign of life: its step, the time, its slowest gap
  epochs/epoch-NNN.pt    the weights after each epoch (000: the random start), 247 KB each

Who is training a run is answered by the kernel, not by a PID in a file: the process that
queues or trains a run holds an exclusive `flock` on `run.lock` for as long as it lives, and
the kernel drops it however that process ends. A run whose status says queued/running while
nobody holds the lock is `crashed` (`Run.current_status`), whichever way it was started; a
second trainer that cannot take the lock is refused (`RunBusyError`).

A live lock is not proof of progress: a trainer that is stopped (SIGSTOP), swapping or
deadlocked keeps it. So the trainer also writes a heartbeat (`heartbeat.json`, at most once a
second, with the progress it logs anyway), and a run whose heartbeat is older than its bound
(STALL_FACTOR x the slowest gap between its own beats so far, at least $CNN_STALL_SECONDS, 60 by
default) reads `stalled`: never stored, always measured, so a run that beats again is `running`
again. A queued run next in line ends a run stalled for twice that bound (core/training/jobs.py).

Nothing is lost on a crash: the metrics log is appended and flushed as it goes and fsynced at
each epoch; everything else is written atomically (temp file + rename). Every reader checks
what it reads and raises `RunDamagedError` naming the file and what is wrong with it, so that a
broken folder is one broken row, never a broken page.
"""

from __future__ import annotations

import fcntl
import io
import json
import math
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.files import (
    DISK_FULL_ERRNOS,
    atomic_write,
    atomic_write_json,
    json_safe,
    remove_partial_files,
    write_in_place,
)
from core.i18n import _

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNS_DIR_ENV = "CNN_RUNS_DIR"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
STATES = ("queued", "running", "completed", "stopped", "diverged", "failed", "crashed")
# `stalled` is never written: current_status() reports it for a running run whose heartbeat
# is too old (it still holds its lock and its slot).
ACTIVE_STATES = ("queued", "running", "stalled")
FINAL_STATES = ("completed", "stopped", "diverged", "failed", "crashed")
LOCK_FILE = "run.lock"
STOP_FILE = "stop.request"
SNAPSHOTS_DIR = "epochs"  # epoch-000.pt ... : the weights after each epoch
LOG_FILE = "output.log"  # a background job's stdout and stderr (core/training/jobs.py)
LOCK_FD_ENV = "CNN_RUN_LOCK_FD"  # a lock handed from the job process to its trainer
LOCK_WAIT_SECONDS = 1.0  # a reader's probe holds the lock for microseconds: retry that long
CRASH_MESSAGE = "the training process ended without saying why (killed, or out of memory)"
HEARTBEAT_FILE = "heartbeat.json"
STALL_SECONDS_ENV = "CNN_STALL_SECONDS"  # the least heartbeat age that reads `stalled`
DEFAULT_STALL_SECONDS = 60.0
STALL_FACTOR = 10.0  # times the slowest gap between the run's own beats so far
HEARTBEAT_EVERY = 1.0  # seconds: how often the trainer writes its beat, at most


def stall_floor() -> float:
    try:
        return max(0.5, float(os.environ.get(STALL_SECONDS_ENV, DEFAULT_STALL_SECONDS)))
    except ValueError:
        return DEFAULT_STALL_SECONDS


def stall_bound(slowest_gap: float) -> float:
    """Seconds without a heartbeat after which a running run reads `stalled`."""
    return max(stall_floor(), STALL_FACTOR * max(0.0, slowest_gap))


class RunDamagedError(ValueError):
    """A file of a run folder that cannot be read as what it should be."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class RunBusyError(RuntimeError):
    """Another live process queues or trains this run."""


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or REPO_ROOT / "runs")


def validate_run_id(run_id: str) -> str:
    """Run ids are names, never paths: letters, digits, '.', '_' and '-', at most 80."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise ValueError(
            _(
                "invalid run id {run_id!r}: use letters, digits, '.', '_' or '-' (at most 80)"
            ).format(run_id=run_id)
        )
    return run_id


def format_lr(lr: float) -> str:
    """A learning rate as a name part: 0.1 -> '0.1', 1e6 -> '1e06', 1e-05 -> '1e-05'."""
    return f"{lr:g}".replace("+", "")


def new_run_id(lr: float, seed: int) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return validate_run_id(f"{stamp}-lr{format_lr(lr)}-s{seed}-{os.urandom(2).hex()}")


# Kept for callers of the old names.
_json_safe = json_safe


def read_json(path: Path) -> Any:
    with open(path) as handle:
        return json.load(handle)


def _read_json_file(path: Path, tries: int = 1) -> Any:
    """The JSON in `path`; FileNotFoundError when absent, RunDamagedError when unreadable.
    `tries` 2: a file that may be rewritten in place (status.json on a full disk) is read again
    50 ms later before it is called damaged."""
    for attempt in range(tries):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as error:
            message = _("cannot be read ({error})").format(error=error.strerror or error)
            raise RunDamagedError(path.name, message) from None
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = _("is not UTF-8 text")
        except json.JSONDecodeError as error:
            problem = _("is not valid JSON ({error}, line {line})").format(
                error=error.msg, line=error.lineno
            )
        if attempt + 1 < tries:
            time.sleep(0.05)
    raise RunDamagedError(path.name, problem)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# The fields of each kind of metrics record, and what each must be.
_BATCH_FIELDS = {"epoch": _is_count, "batch": _is_count, "step": _is_count}
_EPOCH_FIELDS = {
    "epoch": _is_count,
    "epochs": _is_count,
    "train_loss": _is_number,
    "val_loss": _is_number,
    "val_error": _is_number,
    "best_epoch": _is_count,
    "best_val_error": _is_number,
}


def valid_metrics_record(record: Any) -> bool:
    """A batch or epoch record with every field a reader relies on (NaN losses are null)."""
    if not isinstance(record, dict):
        return False
    if record.get("kind") == "batch":
        loss = record.get("loss")
        return (
            all(check(record.get(key)) for key, check in _BATCH_FIELDS.items())
            and (loss is None or _is_number(loss))
            and (record.get("time") is None or _is_number(record.get("time")))
        )
    if record.get("kind") == "epoch":
        return all(check(record.get(key)) for key, check in _EPOCH_FIELDS.items()) and all(
            record.get(key) is None or _is_number(record.get(key))
            for key in ("seconds", "images_per_second", "time")
        )
    return False


# ---------------------------------------------------------------------------- the lock


def _try_flock(fd: int, how: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


@dataclass(frozen=True)
class Run:
    """A handle on one run folder; all reads tolerate a run that is being written."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    # -- files
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def test_path(self) -> Path:
        return self.path / "test.json"

    @property
    def predictions_path(self) -> Path:
        return self.path / "test_predictions.npz"

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def stop_path(self) -> Path:
        return self.path / STOP_FILE

    def checkpoint_path(self, name: str) -> Path:
        if name not in ("last", "best"):
            raise ValueError(f"checkpoint must be 'last' or 'best', got {name!r}")
        return self.path / f"{name}.pt"

    # -- config and status
    def read_config(self) -> dict:
        """The saved config as a dict (core.training.config.load_config checks its fields)."""
        try:
            config = _read_json_file(self.config_path)
        except FileNotFoundError:
            raise RunDamagedError("config.json", _("is missing")) from None
        if not isinstance(config, dict):
            raise RunDamagedError("config.json", _not_an_object(config))
        return config

    def write_config(self, config: dict) -> None:
        atomic_write_json(self.config_path, config)

    def write_status(self, state: str, message: str | None = None, **extra: Any) -> None:
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        record = {"state": state, "message": message, "updated": time.time(), **extra}
        try:
            atomic_write_json(self.status_path, record)
        except OSError as error:
            # A full disk may not give a temp file even these few hundred bytes; the status
            # file's own block takes them (it is there from the start, core.runs.store.create_run).
            if error.errno not in DISK_FULL_ERRNOS or not self.status_path.is_file():
                raise
            write_in_place(self.status_path, json.dumps(json_safe(record), indent=2).encode())

    def read_status(self) -> dict:
        """The status file as written, checked: a dict with a known state."""
        try:
            status = _read_json_file(self.status_path, tries=2)
        except FileNotFoundError:
            raise RunDamagedError("status.json", _("is missing")) from None
        if not isinstance(status, dict):
            raise RunDamagedError("status.json", _not_an_object(status))
        state = status.get("state")
        if state not in STATES:
            raise RunDamagedError(
                "status.json",
                _("has an unknown state {state!r}").format(state=str(state)[:40]),
            )
        message = status.get("message")
        if message is not None and not isinstance(message, str):
            raise RunDamagedError("status.json", _("has a message that is not text"))
        for key in ("epoch", "epochs"):
            if key in status and not _is_count(status[key]):
                raise RunDamagedError(
                    "status.json", _("has a {key} that is not a whole number").format(key=key)
                )
        if "updated" in status and not _is_number(status["updated"]):
            raise RunDamagedError("status.json", _("has an 'updated' time that is not a number"))
        return status

    def current_status(self) -> dict:
        """The status, corrected: queued/running with nobody holding the lock is `crashed`,
        and running with a heartbeat older than its bound is `stalled` (with `stalled_for`,
        the heartbeat's age in seconds, and `stall_bound`).

        A crash is found once and recorded in status.json (under the lock, so it cannot
        overwrite a trainer that has just started), so pages that poll every second do not
        look for it again."""
        status = self.read_status()
        if status["state"] in FINAL_STATES:
            return status
        if self.is_locked():
            return self._with_stall(status)
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return status  # a folder being deleted, or read-only: report what it says
        try:
            if not _try_flock(fd, fcntl.LOCK_EX, 0.0):
                return self.read_status()  # a process took it just now: it is alive
            status = self.read_status()  # it may have ended just now, as it should
            if status["state"] in FINAL_STATES:
                return status
            tail = self.output_tail()
            message = CRASH_MESSAGE + (f"; its last output:\n{tail}" if tail else "")
            extra = {k: v for k, v in status.items() if k not in ("state", "message", "updated")}
            self.write_status("crashed", message, **extra)
            return self.read_status()
        finally:
            os.close(fd)  # closing drops the lock

    # -- the heartbeat
    @property
    def heartbeat_path(self) -> Path:
        return self.path / HEARTBEAT_FILE

    def write_heartbeat(self, step: int, slowest_gap: float) -> None:
        """A small file replaced in one rename, not fsynced: a lost beat costs nothing."""
        record = {"step": step, "time": time.time(), "slowest_gap": slowest_gap}
        tmp = self.path / f".{HEARTBEAT_FILE}.{os.getpid()}.part"
        try:
            tmp.write_text(json.dumps(record))
            os.replace(tmp, self.heartbeat_path)
        except OSError as error:  # a full disk: no half beat left behind, the file named
            tmp.unlink(missing_ok=True)
            error.filename = str(self.heartbeat_path)
            raise

    def read_heartbeat(self) -> dict | None:
        """The last beat, or None when there is none (or it cannot be read)."""
        try:
            beat = json.loads(self.heartbeat_path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(beat, dict) or not _is_number(beat.get("time")):
            return None
        if not _is_number(beat.get("slowest_gap")):
            beat["slowest_gap"] = 0.0
        return beat

    def stall(self, status: dict | None = None) -> tuple[float, float, dict | None] | None:
        """(seconds since the last sign of life, the bound, the beat) when a running run has
        passed its bound, else None. Its sign of life: the heartbeat, or the status file's
        time when it is newer (written when the attempt started)."""
        status = status if status is not None else self.read_status()
        if status.get("state") != "running":
            return None
        beat = self.read_heartbeat()
        last = status.get("updated") if _is_number(status.get("updated")) else 0.0
        slowest = 0.0
        if beat is not None and beat["time"] >= last:
            last, slowest = beat["time"], float(beat["slowest_gap"])
        age, bound = time.time() - last, stall_bound(slowest)
        return (age, bound, beat) if age > bound else None

    def _with_stall(self, status: dict) -> dict:
        found = self.stall(status)
        if found is None:
            return status
        age, bound, beat = found
        # Measured on every read, never stored: in the reader's language.
        if beat and _is_count(beat.get("step")):
            message = _(
                "stalled: no progress for {age:.0f} s (last at step {step}), longer than this"
                " run's bound of {bound:.0f} s; its process is alive but not training (stopped,"
                " swapping or hung). Stop it (it is ended if it does not answer), then resume it"
                " from its last checkpoint"
            ).format(age=age, step=beat["step"], bound=bound)
        else:
            message = _(
                "stalled: no progress for {age:.0f} s, longer than this run's bound of"
                " {bound:.0f} s; its process is alive but not training (stopped, swapping or"
                " hung). Stop it (it is ended if it does not answer), then resume it from its"
                " last checkpoint"
            ).format(age=age, bound=bound)
        return {
            **status,
            "state": "stalled",
            "message": message,
            "stalled_for": age,
            "stall_bound": bound,
        }

    def is_locked(self) -> bool:
        """True while some process holds the run's lock (queues or trains it)."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except OSError:
            return False
        try:
            if _try_flock(fd, fcntl.LOCK_SH, 0.0):
                return False  # closing releases our probe at once
            return True
        finally:
            os.close(fd)

    def lock_holder_pid(self) -> int | None:
        """The PID written into the lock file by its holder (for a signal), if any."""
        try:
            text = self.lock_path.read_text().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    def acquire_lock(self, wait: float = LOCK_WAIT_SECONDS) -> int:
        """Take the run's lock for this process (and the ones it hands the fd to).

        Returns the open descriptor (keep it open for as long as the run is yours);
        raises RunBusyError when another live process has it."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_flock(fd, fcntl.LOCK_EX, wait):
            os.close(fd)
            holder = self.lock_holder_pid()
            if holder:
                message = _(
                    "run {run} is already being trained or queued by another process (pid {pid});"
                    " stop it first, or wait for it to end"
                ).format(run=self.id, pid=holder)
            else:
                message = _(
                    "run {run} is already being trained or queued by another process; stop it"
                    " first, or wait for it to end"
                ).format(run=self.id)
            raise RunBusyError(message)
        self.write_lock_holder(fd, os.getpid())
        return fd

    @staticmethod
    def write_lock_holder(fd: int, pid: int) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode(), 0)

    def inherited_lock(self) -> int | None:
        """The lock descriptor a job process handed down through $CNN_RUN_LOCK_FD, if it is
        really this run's lock file (and is locked, which a handed-down fd always is)."""
        text = os.environ.get(LOCK_FD_ENV)
        if not text:
            return None
        try:
            fd = int(text)
            handed, ours = os.fstat(fd), os.stat(self.lock_path)
        except (ValueError, OSError):
            return None
        if (handed.st_dev, handed.st_ino) != (ours.st_dev, ours.st_ino):
            return None
        os.environ.pop(LOCK_FD_ENV, None)  # our own children must not think they hold it
        return fd

    # -- stop requests (the page's Stop: a file, so no signal can race a process's start)
    def request_stop(self) -> None:
        atomic_write(self.stop_path, b"stop\n")

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def clear_stop_request(self) -> None:
        self.stop_path.unlink(missing_ok=True)

    # -- starting over
    def remove_partial_files(self) -> list[str]:
        """Temp files of checkpoint writes killed halfway (call while holding the lock)."""
        return remove_partial_files(self.path) + remove_partial_files(self.snapshots_dir)

    def reset_results(self) -> None:
        """Forget everything an attempt that left no last.pt produced: it starts over."""
        for path in (
            self.metrics_path,
            self.checkpoint_path("best"),
            self.test_path,
            self.predictions_path,
            self.path / "evaluation.npz",
        ):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.snapshots_dir, ignore_errors=True)
        shutil.rmtree(self.path / "evaluations", ignore_errors=True)

    # -- metrics
    def append_metrics(self, records: Iterable[dict], sync: bool = False) -> None:
        """A write cut short by a full disk leaves at most a half last line, which readers
        skip and a resume truncates away."""
        try:
            with open(self.metrics_path, "a") as handle:
                for record in records:
                    handle.write(json.dumps(json_safe(record)) + "\n")
                handle.flush()
                if sync:
                    os.fsync(handle.fileno())
        except OSError as error:
            error.filename = str(self.metrics_path)
            raise

    def read_metrics(self) -> list[dict]:
        """Every complete, well-formed record. A half-written last line (a crash mid-write)
        and lines that are not records with the fields readers need are skipped."""
        try:
            raw = self.metrics_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError:
            return []
        records = []
        for line in raw.decode("utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if valid_metrics_record(record):
                records.append(record)
        return records

    def truncate_metrics(self, keep: int) -> None:
        """Keep the first `keep` complete records (used when resuming from a checkpoint)."""
        records = self.read_metrics()[:keep]
        text = "".join(json.dumps(record) + "\n" for record in records)
        atomic_write(self.metrics_path, text.encode())

    # -- checkpoints
    def save_checkpoint(self, name: str, state: dict) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write(self.checkpoint_path(name), buffer.getvalue())

    def load_checkpoint(self, name: str, map_location: Any = "cpu") -> dict:
        """The checkpoint, or RunDamagedError naming the file when it cannot be one of ours."""
        import torch

        path = self.checkpoint_path(name)
        if not path.is_file():
            raise FileNotFoundError(
                _("run {run} has no {file}").format(run=self.id, file=path.name)
            )
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as error:  # torch raises many kinds for a file that is not its own
            raise RunDamagedError(
                path.name,
                _("is not a readable checkpoint: {problem}").format(
                    problem=_checkpoint_problem(path, error)
                ),
            ) from None
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            raise RunDamagedError(path.name, _("does not hold model weights"))
        return state

    def has_checkpoint(self, name: str) -> bool:
        return self.checkpoint_path(name).is_file()

    # -- weights after each epoch (epoch 0: before the first), for scrubbing through training
    @property
    def snapshots_dir(self) -> Path:
        return self.path / SNAPSHOTS_DIR

    def snapshot_path(self, epoch: int) -> Path:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a whole number from 0, got {epoch!r}")
        return self.snapshots_dir / f"epoch-{epoch:03d}.pt"

    def save_snapshot(self, epoch: int, model_state: dict) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save({"model": model_state, "epoch": epoch}, buffer)
        atomic_write(self.snapshot_path(epoch), buffer.getvalue())

    def snapshot_epochs(self) -> list[int]:
        """The epochs whose weights were kept, ascending (empty for runs made before)."""
        epochs = []
        for path in self.snapshots_dir.glob("epoch-*.pt"):
            try:
                epochs.append(int(path.stem.split("-", 1)[1]))
            except ValueError:
                continue
        return sorted(epochs)

    def missing_files(self, state: str, epochs_done: int) -> list[str]:
        """What this run should hold and does not (deleted by hand, or lost), each with what
        it costs, in words: checked with a few stat calls, for the runs table. Nothing for
        an active run, whose files are still being written."""
        if state in ACTIVE_STATES:
            return []
        problems = []
        if epochs_done > 0:
            kept = set(self.snapshot_epochs())
            gone = [epoch for epoch in range(epochs_done + 1) if epoch not in kept]
            if gone and (kept or self.snapshots_dir.is_dir()):
                text = (
                    _(
                        "the weights after epochs {epochs} ({folder}/) are gone: those epochs"
                        " cannot be shown"
                    )
                    if len(gone) > 1
                    else _(
                        "the weights after epoch {epochs} ({folder}/) are gone: those epochs"
                        " cannot be shown"
                    )
                )
                problems.append(text.format(epochs=epoch_span(gone), folder=SNAPSHOTS_DIR))
            elif gone:
                problems.append(
                    _(
                        "it kept no weights per epoch ({folder}/): only its best epoch can be shown"
                    ).format(folder=SNAPSHOTS_DIR)
                )
            if not self.metrics_path.is_file():
                problems.append(_("metrics.jsonl is gone: no curves and no epoch records"))
        if state == "completed" and not self.has_checkpoint("best"):
            problems.append(
                _("best.pt is gone: the errors, why-it-errs and inside pages cannot load it")
            )
        if state in ("stopped", "crashed", "failed") and not self.has_checkpoint("last"):
            if epochs_done > 0:
                problems.append(_("last.pt is gone: Resume starts it over from epoch 1"))
        return problems

    def load_snapshot(self, epoch: int, map_location: Any = "cpu") -> dict:
        """{"model": weights, "epoch": epoch}; RunDamagedError when unreadable."""
        import torch

        path = self.snapshot_path(epoch)
        if not path.is_file():
            raise FileNotFoundError(
                _("run {run} kept no weights for epoch {epoch}").format(run=self.id, epoch=epoch)
            )
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as error:
            name = f"{SNAPSHOTS_DIR}/{path.name}"
            problem = _checkpoint_problem(path, error)
            raise RunDamagedError(
                name, _("is not a readable checkpoint: {problem}").format(problem=problem)
            ) from None
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            raise RunDamagedError(f"{SNAPSHOTS_DIR}/{path.name}", _("does not hold model weights"))
        return state

    # -- results
    def read_test(self) -> dict | None:
        """test.json, checked; None while the run has none."""
        try:
            test = _read_json_file(self.test_path)
        except FileNotFoundError:
            return None
        if not isinstance(test, dict):
            raise RunDamagedError("test.json", _not_an_object(test))
        risk = test.get("test_risk")
        if not _is_number(risk) or not 0.0 <= risk <= 1.0:
            raise RunDamagedError("test.json", _("has no test risk between 0 and 1"))
        return test

    # -- a job's output
    def output_tail(self, lines: int = 15) -> str:
        """The last lines of the job's output (its error message, when it crashed)."""
        try:
            text = (self.path / LOG_FILE).read_text(errors="replace")
        except OSError:
            return ""
        # Progress bars redraw with carriage returns; keep only what a terminal would show.
        visible = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
        return "\n".join([line for line in visible if line.strip()][-lines:])


def epoch_span(epochs: list[int]) -> str:
    """[3, 4, 5, 9] -> "3 to 5 and 9"."""
    parts, start = [], None
    for index, epoch in enumerate(epochs):
        if start is None:
            start = epoch
        if index + 1 == len(epochs) or epochs[index + 1] != epoch + 1:
            parts.append(
                str(start)
                if start == epoch
                else _("{start} to {end}").format(start=start, end=epoch)
            )
            start = None
    if len(parts) == 1:
        return parts[0]
    return _("{first} and {last}").format(first=", ".join(parts[:-1]), last=parts[-1])


def _not_an_object(value: Any) -> str:
    return _("holds a {kind}, not an object").format(kind=type(value).__name__)


def _checkpoint_problem(path: Path, error: Exception) -> str:
    """What is wrong with a checkpoint torch.load refused, in words (torch's own messages run
    to a paragraph about its defaults)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if size == 0:
        return _("the file is empty")
    text = str(error)
    if "Weights only load failed" in text or "Unsupported global" in text:
        return _("it holds objects other than tensors, which a safe load refuses")
    if isinstance(error, EOFError) or "end of file" in text.lower() or "truncated" in text:
        return _("the file is cut short")
    first = text.strip().splitlines()[0][:120] if text.strip() else ""
    return _("not a PyTorch file ({error})").format(
        error=type(error).__name__ + (": " + first if first else "")
    )


def create_run(
    config: dict, run_dir: Path | None = None, runs_root: Path | None = None
) -> tuple[Run, int]:
    """Make a new run folder, locked by this process, with its status and config.

    Refuses a folder that already holds a run, or holds anything else. Returns the run and
    the lock's descriptor (see `Run.acquire_lock`)."""
    if run_dir is None:
        root = runs_root or default_runs_dir()
        lr, seed = config.get("lr"), config.get("seed")
        lr = lr if _is_number(lr) and math.isfinite(lr) else 0.0
        run_dir = root / new_run_id(lr, seed if _is_count(seed) else 0)
    run = Run(Path(run_dir))
    validate_run_id(run.id)
    if run.config_path.exists():
        raise FileExistsError(f"{run.path} already holds a run; use --resume to continue it")
    if run.path.exists() and (not run.path.is_dir() or any(run.path.iterdir())):
        raise FileExistsError(
            f"{run.path} exists and is not an empty folder: choose a new folder for the run"
        )
    made = not run.path.exists()
    lock = run.acquire_lock(wait=0.0)
    try:
        # Status before config: a folder is listed as a run once it has config.json.
        run.write_status("queued")
        run.write_config(config)
    except BaseException:
        os.close(lock)
        if made:  # a full disk, say: leave no half-made folder behind
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    return run, lock


def open_run(run_dir: Path) -> Run:
    run = Run(Path(run_dir))
    validate_run_id(run.id)
    if not run.config_path.is_file():
        raise FileNotFoundError(_("no run in {path} (config.json missing)").format(path=run.path))
    return run


def list_runs(runs_root: Path | None = None) -> list[Run]:
    """All run folders, newest first."""
    root = runs_root or default_runs_dir()
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        try:
            runs.append((path.joinpath("config.json").stat().st_mtime, Run(path)))
        except OSError:  # not a run, or deleted just now
            continue
    return [run for _, run in sorted(runs, key=lambda pair: pair[0], reverse=True)]
