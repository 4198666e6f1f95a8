"""Peak memory (RSS) of a training run, against the cost of merely importing the trainer.

    python benchmarks/train_memory.py [--epochs 20] [--train-subset N]

Runs `python -m core.train` as a child process (into a temporary run folder) and reads the
child's peak RSS from the kernel (getrusage), next to a child that only imports torch and
core.train. Target (issue 4): a full 20-epoch run at most 1.5 GB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile

TARGET_BYTES = 1.5 * 1024**3


def peak_rss_of(command: list[str]) -> int:
    """Peak RSS in bytes of one child process (the largest child so far, so run in order)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("this child's peak was below an earlier one's: run the larger last")
    return after * 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train-subset", type=int, default=None)
    args = parser.parse_args()

    baseline = peak_rss_of([sys.executable, "-c", "import torch, core.train"])
    with tempfile.TemporaryDirectory() as runs:
        command = [
            sys.executable,
            "-m",
            "core.train",
            "--epochs",
            str(args.epochs),
            "--runs-root",
            runs,
        ]
        if args.train_subset:
            command += ["--train-subset", str(args.train_subset)]
        training = peak_rss_of(command)
    gib = 1024**3
    print(f"import torch + core.train only: {baseline / gib:.2f} GiB peak RSS")
    print(
        f"training, {args.epochs} epochs:        {training / gib:.2f} GiB peak RSS"
        f"  ({training / baseline:.2f}x the import alone)"
    )
    print(
        f"against the 1.5 GiB target:     {training / TARGET_BYTES:.2f}x"
        f"  ({'within' if training <= TARGET_BYTES else 'OVER'} target)"
    )


if __name__ == "__main__":
    main()
