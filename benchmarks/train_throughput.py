"""Training throughput: our trainer against the tutorial baseline, in one process.

    python benchmarks/train_throughput.py [--images 19200] [--repeats 3]

Baseline: the loop of pytorch/examples' mnist/main.py: torchvision's MNIST dataset with
`ToTensor`, `DataLoader(batch_size=64, shuffle=True)`, the same LeNet-5 and plain SGD.
Ours: core.train.Trainer (data in memory as one tensor, one shuffle per epoch, slices),
timed through its whole `fit()` including its validation pass. Both train on the same
number of images at batch size 64; the two are interleaved and each timed `--repeats`
times, and the medians are compared. Prints images/s of each, the ratio, and the
projected wall time of the full recipe (20 epochs with validation and test).
Target (issue 4): ratio at least 3x on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from core import data
from core.lenet import LeNet5
from core.train import TrainConfig, Trainer, available_cores, evaluate


def baseline_images_per_second(images: int, seed: int) -> float:
    """pytorch/examples' mnist loop, CPU, batch 64, shuffled, ToTensor."""
    torch.manual_seed(seed)
    dataset = datasets.MNIST(
        str(data.default_data_dir()), train=True, transform=transforms.ToTensor()
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


def ours_images_per_second(images: int, seed: int, splits: data.MnistSplits) -> float:
    trainer = Trainer(TrainConfig(epochs=1, seed=seed, train_subset=images, device="cpu"), splits)
    started = time.perf_counter()
    trainer.fit()
    return images / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64 * 300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(available_cores())
    splits = data.load_mnist()
    # Warm-up: first calls pay for allocator and kernel selection.
    baseline_images_per_second(64 * 20, 0)
    ours_images_per_second(64 * 20, 0, splits)

    baseline, ours = [], []
    for repeat in range(args.repeats):
        baseline.append(baseline_images_per_second(args.images, repeat))
        ours.append(ours_images_per_second(args.images, repeat, splits))
        print(
            f"repeat {repeat + 1}: baseline {baseline[-1]:,.0f} img/s, ours {ours[-1]:,.0f} img/s",
            flush=True,
        )
    base, mine = statistics.median(baseline), statistics.median(ours)
    print(
        f"\nthreads: {torch.get_num_threads()}, torch {torch.__version__}, "
        f"{args.images:,} images per measurement, batch 64"
    )
    print(f"baseline (DataLoader + ToTensor): {base:,.0f} img/s")
    print(f"ours (core.train.Trainer):        {mine:,.0f} img/s")
    print(f"ratio ours / baseline:            {mine / base:.2f}x   (target >= 3x)")

    model = LeNet5()
    started = time.perf_counter()
    evaluate(model, splits.val_images, splits.val_labels, torch.device("cpu"))
    validation = time.perf_counter() - started
    started = time.perf_counter()
    evaluate(model, splits.test_images, splits.test_labels, torch.device("cpu"))
    test = time.perf_counter() - started
    epoch = len(splits.train_labels) / mine + validation
    print(
        f"projected full recipe: 20 x ({len(splits.train_labels):,} / {mine:,.0f} s"
        f" + {validation:.2f} s validation) + {test:.2f} s test = {20 * epoch + test:,.0f} s"
        f" ({(20 * epoch + test) / 60:.1f} min); baseline would need"
        f" {20 * len(splits.train_labels) / base / 60:.1f} min of training alone"
    )


if __name__ == "__main__":
    main()
