"""Training throughput: our trainer, single-process and data-parallel, against the tutorial
baseline, in one process run.

    python benchmarks/train_throughput.py [--images 58976] [--repeats 3] [--workers 2]

Baseline: the loop of pytorch/examples' mnist/main.py: torchvision's MNIST dataset with
`ToTensor`, `DataLoader(batch_size=64, shuffle=True)`, the same LeNet-5 and plain SGD, with
as many threads as cores. Ours: core.training.loop.Trainer (data in memory as one tensor, one
shuffle per epoch, slices), timed through its whole `fit()` including its validation pass, once with
`workers=1` (one process, a thread per core) and once with `--workers` processes sharing each
batch (core/training/parallel.py; its start-up, a Python importing torch per worker, is timed
apart and left out of its images/s, since a run pays it once, not per epoch). All train on the same
number of images at batch size 64; the three are interleaved and each timed `--repeats` times,
and the medians are compared. Prints images/s of each, the ratios, and the projected wall time
of the full recipe (20 epochs with validation and test, plus the start-up and the end).
Target (issue 14): data-parallel at least 2.5x the baseline (stretch 3x) on the 2-core
development machine; the full recipe under 80 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from core.model import mnist
from core.model.lenet import LeNet5
from core.training.config import TrainConfig, available_cores
from core.training.loop import Trainer


def baseline_images_per_second(images: int, seed: int) -> float:
    """pytorch/examples' mnist loop, CPU, batch 64, shuffled, ToTensor."""
    torch.manual_seed(seed)
    dataset = datasets.MNIST(
        str(mnist.default_data_dir()), train=True, transform=transforms.ToTensor()
    )
    loader = DataLoader(Subset(dataset, range(images)), batch_size=64, shuffle=True)
    model = LeNet5()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    started = time.perf_counter()
    for batch, target in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(batch), target)
        loss.backward()
        optimizer.step()
        loss.item()  # the example logs the loss; reading it also syncs
    return images / (time.perf_counter() - started)


def ours(
    images: int, seed: int, splits: mnist.MnistSplits, workers: int, threads: int | None = None
) -> dict[str, float]:
    """One epoch of the trainer's whole fit(), taken apart: `rate`, images/s of its training
    steps (the epoch's own clock, as the tutorial loop is timed: no validation); `val`, the
    validation pass; `startup`, starting the workers; `test`, the test pass; `rest`, everything
    else fit() spent (ending the workers, checkpoints, logging). `threads` per worker overrides
    the trainer's choice (cores / workers), to measure the alternatives."""
    config = TrainConfig(epochs=1, seed=seed, train_subset=images, device="cpu", workers=workers)
    trainer = Trainer(config, splits, keep_snapshots=False)
    if threads is not None and workers > 1:
        trainer.threads = threads
    passes = {}
    evaluate = trainer.evaluate

    def timed_evaluate(split: str):
        started = time.perf_counter()
        result = evaluate(split)
        passes[split] = time.perf_counter() - started
        return result

    trainer.evaluate = timed_evaluate
    started = time.perf_counter()
    trainer.fit()
    total = time.perf_counter() - started
    steps = trainer.history[0].seconds
    return {
        "rate": images / steps,
        "val": passes["val"],
        "startup": trainer.startup_seconds,
        "test": passes["test"],
        "rest": total - steps - passes["val"] - passes["test"] - trainer.startup_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=mnist.TRAIN_SIZE - mnist.VALIDATION_SIZE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="per data-parallel worker (default: cores/workers)",
    )
    args = parser.parse_args()

    torch.set_num_threads(available_cores())  # the baseline's; each trainer sets its own
    splits = mnist.load_mnist()
    # Warm-up: first calls pay for allocator and kernel selection.
    baseline_images_per_second(64 * 20, 0)
    ours(64 * 20, 0, splits, 1)
    ours(64 * 20, 0, splits, args.workers, args.threads)

    baseline, single, shared = [], [], []
    for repeat in range(args.repeats):
        baseline.append(baseline_images_per_second(args.images, repeat))
        single.append(ours(args.images, repeat, splits, 1))
        shared.append(ours(args.images, repeat, splits, args.workers, args.threads))
        print(
            f"repeat {repeat + 1}: baseline {baseline[-1]:,.0f} img/s, ours single-process"
            f" {single[-1]['rate']:,.0f} img/s, ours {args.workers} workers"
            f" {shared[-1]['rate']:,.0f} img/s (start-up {shared[-1]['startup']:.2f} s)"
            f"  load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    base = statistics.median(baseline)
    one = {key: statistics.median(r[key] for r in single) for key in single[0]}
    many = {key: statistics.median(r[key] for r in shared) for key in shared[0]}
    print(
        f"\n{available_cores()} cores, torch {torch.__version__},"
        f" {args.images:,} images per measurement, batch 64, medians of {args.repeats}"
    )
    print(f"baseline (DataLoader + ToTensor, {available_cores()} threads): {base:,.0f} img/s")
    print(
        f"ours, one process ({available_cores()} threads):      {one['rate']:,.0f} img/s"
        f"  {one['rate'] / base:.2f}x"
    )
    print(
        f"ours, {args.workers} workers ({args.threads or 'cores/workers'} threads each):"
        f" {many['rate']:,.0f} img/s  {many['rate'] / base:.2f}x"
        f"   (target >= 2.5x; {many['rate'] / one['rate']:.2f}x the single process)"
    )
    train_images = len(splits.train_labels)
    for name, r in (("one process", one), (f"{args.workers} workers", many)):
        epoch = train_images / r["rate"] + r["val"]
        fixed = r["startup"] + r["test"] + r["rest"]
        print(
            f"projected full recipe, {name}: 20 x ({train_images / r['rate']:.2f} s steps"
            f" + {r['val']:.2f} s validation) + {r['startup']:.2f} s start-up"
            f" + {r['test']:.2f} s test + {r['rest']:.2f} s the rest"
            f" = {20 * epoch + fixed:.0f} s (target < 80 s)"
        )


if __name__ == "__main__":
    main()
