"""What keeping each epoch's weights (epochs/epoch-NNN.pt) costs the trainer, in one process.

    python benchmarks/snapshot_cost.py [--images 16384] [--epochs 3] [--repeats 3]

The same short run (a run folder, so checkpoints are written either way) with and without the
per-epoch snapshots, interleaved, medians of `--repeats`; then one snapshot write alone
(median of 30) against the seconds of a full 58,976-image epoch measured in the same process,
which is the ratio a real run pays. Prints images/s of both, the ratio, and the disk used.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from core.model import mnist
from core.runs.store import create_run
from core.training.config import TrainConfig
from core.training.loop import Trainer


def timed_run(config: TrainConfig, splits: mnist.MnistSplits, keep: bool, root: Path) -> float:
    run_dir = Path(tempfile.mkdtemp(dir=root)) / "run"
    run, lock = create_run(vars(config).copy(), run_dir)
    trainer = Trainer(config, splits, run, keep_snapshots=keep)
    started = time.perf_counter()
    trainer.fit()
    elapsed = time.perf_counter() - started
    shutil.rmtree(run_dir.parent)
    return config.train_images * config.epochs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16_384)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    splits = mnist.load_mnist()
    config = TrainConfig(epochs=args.epochs, train_subset=args.images, device="cpu")
    root = Path(tempfile.mkdtemp(prefix="snapshot-cost-"))
    try:
        with_, without = [], []
        for _ in range(args.repeats):
            without.append(timed_run(config, splits, False, root))
            with_.append(timed_run(config, splits, True, root))
        a, b = statistics.median(without), statistics.median(with_)
        print(f"without snapshots {a:,.0f} img/s, with {b:,.0f} img/s: ratio {b / a:.3f}")

        full = Trainer(TrainConfig(epochs=1, device="cpu"), splits)
        started = time.perf_counter()
        full.fit()
        epoch_seconds = time.perf_counter() - started
        run, _ = create_run(vars(config).copy(), root / "single")
        writes = []
        state = full.model.state_dict()
        for epoch in range(30):
            started = time.perf_counter()
            run.save_snapshot(epoch, state)
            writes.append(time.perf_counter() - started)
        write = statistics.median(writes)
        size = run.snapshot_path(0).stat().st_size
        print(
            f"one snapshot: {write * 1000:.1f} ms, {size / 1024:.0f} KiB; a full epoch here"
            f" {epoch_seconds:.1f} s: {write / epoch_seconds:.3%} of an epoch;"
            f" 21 snapshots of a 20-epoch run: {21 * size / 2**20:.1f} MiB"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
