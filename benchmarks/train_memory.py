"""Peak memory of a training run, all its worker processes together, against the cost of merely
importing the trainer.

    python benchmarks/train_memory.py [--epochs 20] [--train-subset N] [--workers auto]

Runs `python -m core.train` as a child process (into a temporary run folder) and watches it and
every process below it (the data-parallel workers, core/training/parallel.py) every 0.1 s in /proc:
  - the sum of each process's peak RSS (VmHWM): an upper bound, since it counts the pages they
    share (torch's libraries, the training set in shared memory) once per process;
  - the largest sum of their PSS seen (each shared page split between its users): what the
    machine really gave them, sampled, so a peak between two samples can be missed.
Next to a child that only imports torch and core.training.loop. Linux only. Target (issues 4 and
14): a full 20-epoch run at most 1.5 GB, all workers together.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_BYTES = 1.5 * 1024**3


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> set[int]:
    """`pid` and every live process below it."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {pid}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def watch(command: list[str]) -> tuple[int, int, int]:
    """(sum of peak RSS, largest summed PSS, processes seen), in bytes, of a command's tree."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    largest_pss = 0
    while process.poll() is None:
        pss = 0
        for pid in tree(process.pid):
            try:
                peaks[pid] = max(peaks.get(pid, 0), status_kib(pid, "VmHWM"))
                pss += pss_kib(pid)
            except (OSError, ValueError):
                continue  # ended between the listing and the read
        largest_pss = max(largest_pss, pss)
        time.sleep(0.1)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited with {process.returncode}")
    return sum(peaks.values()) * 1024, largest_pss * 1024, len(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument("--workers", default="auto")
    args = parser.parse_args()

    gib = 1024**3
    rss, pss, _ = watch(
        [sys.executable, "-c", "import torch, core.training.loop, time; time.sleep(1)"]
    )
    print(
        f"import torch + core.training.loop only: {rss / gib:.2f} GiB peak RSS, {pss / gib:.2f}"
        f" GiB PSS"
    )
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "core.train", "--epochs", str(args.epochs)]
        command += ["--runs-root", runs, "--workers", args.workers]
        if args.train_subset:
            command += ["--train-subset", str(args.train_subset)]
        rss, pss, processes = watch(command)
    print(
        f"training, {args.epochs} epochs, --workers {args.workers} ({processes} processes,"
        f" the spawn's resource tracker included):"
    )
    print(f"  sum of peak RSS:    {rss / gib:.2f} GiB (shared pages counted in each process)")
    print(f"  largest summed PSS: {pss / gib:.2f} GiB (shared pages split between processes)")
    print(
        f"against the 1.5 GiB target: PSS {pss / TARGET_BYTES:.2f}x, RSS sum"
        f" {rss / TARGET_BYTES:.2f}x  ({'within' if pss <= TARGET_BYTES else 'OVER'} target by PSS)"
    )


if __name__ == "__main__":
    main()
