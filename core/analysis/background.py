"""A run's whole-test-set analyses, computed once by a background process and kept in the run
folder: the FGSM sweep, the accuracy against shift, and the F6 embedding (PCA and t-SNE).

    python -m core.analysis.background --run-dir runs/<id>      # compute what is missing (nice'd)
    start(run)        -> launches that process unless one is already at work on the run
    read(run, part)   -> the cached arrays of one part, or None when missing or stale
    progress(run)     -> what the process is doing ({"part", "fraction", "error"}), or None
    is_running(run)   -> whether a process holds the run's analysis lock
    stop(run)         -> ends that process (SIGTERM); what it finished stays cached

Files: `<run>/analysis/<part>.npz` (written atomically; stale when `best.pt` is newer) and
`progress.json`. The process holds an exclusive lock on `analysis/analysis.lock` while it
lives; the kernel drops it however the process ends, so a killed job never looks busy.
The pages only read these files, as they do for training runs (core/training/jobs.py).
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.files import (
    atomic_write,
    atomic_write_json,
    describe_storage_error,
    is_storage_error,
    write_in_place,
)
from core.i18n import N_
from core.runs.store import Run, RunDamagedError, open_run, read_json

ANALYSIS_DIR = "analysis"
PROGRESS_FILE = "progress.json"
LOCK_FILE = "analysis.lock"
LOG_FILE = "analysis.log"
PARTS = ("fgsm", "shift", "embedding")
# What the page says the process is doing (marked for translation, translated where shown).
PART_TITLES = {
    "fgsm": N_("FGSM sweep (10,000 digits x 7 epsilons)"),
    "shift": N_("accuracy against shift (10,000 digits x 26 shifts)"),
    "embedding": N_("F6 embedding (PCA and t-SNE of 10,000 digits)"),
}
NICENESS = 10  # below the page and any training run: this can wait


def analysis_dir(run: Run) -> Path:
    return run.path / ANALYSIS_DIR


def part_path(run: Run, part: str) -> Path:
    if part not in PARTS:
        raise ValueError(f"unknown analysis {part!r}; one of {', '.join(PARTS)}")
    return analysis_dir(run) / f"{part}.npz"


def read(run: Run, part: str) -> dict[str, np.ndarray] | None:
    """The cached arrays of `part`, or None when missing, damaged or older than best.pt."""
    path = part_path(run, part)
    source = run.checkpoint_path("best")
    try:
        if source.is_file() and source.stat().st_mtime > path.stat().st_mtime:
            return None
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (OSError, ValueError, KeyError):
        return None  # missing or damaged: computed again


def write(run: Run, part: str, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write(part_path(run, part), buffer.getvalue())


def missing(run: Run) -> list[str]:
    return [part for part in PARTS if read(run, part) is None]


def progress(run: Run) -> dict | None:
    try:
        value = read_json(analysis_dir(run) / PROGRESS_FILE)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _lock(run: Run, how: int) -> int | None:
    """An flock on the run's analysis lock file (fd), or None when another process holds it."""
    path = analysis_dir(run) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def is_running(run: Run) -> bool:
    fd = _lock(run, fcntl.LOCK_SH)
    if fd is None:
        return True
    os.close(fd)
    return False


def stop(run: Run) -> bool:
    """SIGTERM to the process at work on the run (its pid is written in the lock file)."""
    if not is_running(run):
        return False
    try:
        pid = int((analysis_dir(run) / LOCK_FILE).read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return False
    return True


def start(run: Run, first: str | None = None) -> bool:
    """Launch `python -m core.analysis` for the run in its own session (it outlives the page
    and the server), computing `first` before the other missing parts; False when one is
    already at work on it."""
    if is_running(run):
        return False
    folder = analysis_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / PROGRESS_FILE, {"part": None, "fraction": 0.0, "error": None})
    with open(folder / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.analysis.background", "--run-dir", str(run.path)]
            + (["--first", first] if first else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    # The child takes the lock itself; wait briefly so that a page polling right after this
    # sees it running (or its early failure in progress.json).
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and process.poll() is None and not is_running(run):
        time.sleep(0.05)
    return True


def compute(run: Run, parts: list[str], report: Callable[[str, float], None]) -> None:
    """Compute `parts` for the run's best model and cache each as soon as it is done."""
    import torch

    from core.analysis.embedding import f6_features, pca_2d, tsne_2d
    from core.analysis.evaluate import run_model
    from core.analysis.robustness import fgsm_sweep, shift_sweep
    from core.model import mnist

    torch.set_num_threads(2)
    model = run_model(run)
    images, labels = mnist.load_test_set()
    for part in parts:
        report(part, 0.0)

        def step(fraction: float, part: str = part) -> None:
            report(part, fraction)

        if part == "fgsm":
            sweep = fgsm_sweep(model, images, labels, progress=step)
            arrays = dict(
                epsilons=sweep.epsilons, accuracy=sweep.accuracy, predictions=sweep.predictions
            )
        elif part == "shift":
            sweep = shift_sweep(model, images, labels, progress=step)
            arrays = dict(shifts=sweep.shifts, horizontal=sweep.horizontal, vertical=sweep.vertical)
        else:
            features = f6_features(model, images)
            report(part, 0.05)
            arrays = dict(pca=pca_2d(features))
            started = time.monotonic()
            arrays["tsne"] = tsne_2d(features)
            arrays["tsne_seconds"] = np.float64(time.monotonic() - started)
        write(run, part, arrays)
        report(part, 1.0)


def work(run_dir: Path, first: str | None = None) -> int:
    run = open_run(run_dir)
    fd = _lock(run, fcntl.LOCK_EX)
    if fd is None:
        print(f"run {run.id}: an analysis is already at work on it", file=sys.stderr)
        return 1
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    path = analysis_dir(run) / PROGRESS_FILE
    last = [0.0]

    def report(part: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction in (0.0, 1.0) or now - last[0] > 0.5:  # at most two writes a second
            last[0] = now
            atomic_write_json(path, {"part": part, "fraction": fraction, "error": None})

    try:
        parts = missing(run)
        compute(run, sorted(parts, key=lambda part: part != first), report)
    except (OSError, ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if is_storage_error(error):
            reason = describe_storage_error(error, run.path) + ": free some space, then try again"
        record = {"part": None, "fraction": 0.0, "error": reason[:300]}
        try:
            atomic_write_json(path, record)
        except OSError:  # the disk is full: the progress file's own block takes the line
            try:
                write_in_place(path, json.dumps(record).encode())
            except OSError:
                pass  # the page then says the analysis ended without a word
        try:
            print(f"run {run.id}: {reason}", file=sys.stderr)
        except OSError:
            pass  # its log is on that same disk
        return 1
    atomic_write_json(path, {"part": None, "fraction": 1.0, "error": None})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.analysis", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="the run folder")
    parser.add_argument("--first", choices=PARTS, help="the part to compute first")
    args = parser.parse_args(argv)
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    try:
        return work(args.run_dir, args.first)
    except (RunDamagedError, FileNotFoundError, ValueError) as error:
        print(str(error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
