"""Variants of LeNet-5 that train: every knob reaches the torch module, the default stays the
lecture's recipe bit for bit, old run folders still open, and each epoch's weights are kept."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis.evaluate import evaluate_run, run_model
from core.convolution.arithmetic import conv_param_count
from core.model import mnist
from core.model.lenet import (
    PAPER_1998_ARCHITECTURE,
    LeNet5,
    LeNetArchitecture,
    lenet_layer_table,
    parameter_count,
)
from core.runs.store import open_run
from core.training import jobs
from core.training.config import ARCHITECTURE_FIELDS, TrainConfig
from core.training.loop import Trainer, train
from core.training.saved import load_config
from core.training.steps import shift_images

REPO_ROOT = Path(__file__).resolve().parents[3]
VARIANTS = [
    LeNetArchitecture(),
    PAPER_1998_ARCHITECTURE,
    LeNetArchitecture(c1_kernel=3, c1_channels=8, c1_padding=1, activation="sigmoid"),
    LeNetArchitecture(c3_kernel=3, c3_channels=32, c3_padding=2, pool=1, pooling="avg"),
    LeNetArchitecture(c1_kernel=7, c1_padding=3, c3_kernel=5, pool=2, activation="tanh"),
]


@pytest.mark.parametrize("architecture", VARIANTS, ids=lambda a: f"{a.activation}-{a.pooling}")
def test_every_architecture_knob_reaches_the_module(architecture: LeNetArchitecture) -> None:
    model = LeNet5(architecture)
    kinds = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    assert type(model.activation) is kinds[architecture.activation]
    pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[architecture.pooling]
    assert type(model.S2) is pooling and type(model.S4) is pooling
    assert model.S2.kernel_size in (architecture.pool, (architecture.pool,) * 2)
    assert model.C1.kernel_size == (architecture.c1_kernel,) * 2
    assert model.C1.padding == (architecture.c1_padding,) * 2
    assert model.C1.out_channels == architecture.c1_channels
    assert model.C3.kernel_size == (architecture.c3_kernel,) * 2
    assert model.C3.out_channels == architecture.c3_channels
    # Shapes and parameters follow core.arithmetic's table, layer by layer (forward hooks).
    table = {row.name: row for row in lenet_layer_table(architecture)}
    seen = {}
    for name in ("C1", "S2", "C3", "S4", "C5", "F6", "out"):
        getattr(model, name).register_forward_hook(
            lambda module, inputs, output, name=name: seen.__setitem__(name, output.shape[1:])
        )
    activations = []
    model.activation.register_forward_hook(lambda m, i, o: activations.append(o.detach()))
    model(torch.rand(2, 1, 28, 28))
    for name, shape in seen.items():
        if name not in ("C5",):
            assert tuple(shape) == table[name].output_shape, name
    assert parameter_count(model) == sum(row.parameters for row in table.values())
    assert model.C1.weight.numel() + model.C1.bias.numel() == conv_param_count(
        1, architecture.c1_channels, (architecture.c1_kernel,) * 2
    )
    assert len(activations) == 4  # after C1, C3, C5 and F6
    if architecture.activation == "sigmoid":
        assert all((a > 0).all() and (a < 1).all() for a in activations)
    text = " ".join(row.operation for row in table.values())
    assert {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}[architecture.activation] in text
    assert {"max": "max pool", "avg": "average pool"}[architecture.pooling] in text


def test_optimizer_knobs_reach_the_optimizer() -> None:
    config = TrainConfig(momentum=0.9, weight_decay=5e-4, batch_size=32)
    trainer = Trainer(config, splits=tiny_splits(), run=None)
    (group,) = trainer.optimizer.param_groups
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.1, 0.9, 5e-4)
    plain = Trainer(TrainConfig(), splits=tiny_splits(), run=None).optimizer.param_groups[0]
    assert (plain["momentum"], plain["weight_decay"]) == (0, 0)


def tiny_splits(n: int = 256) -> mnist.MnistSplits:
    """Random 'digits' for tests that only need the plumbing, not MNIST."""
    generator = torch.Generator().manual_seed(0)

    def images(count):
        return torch.rand(count, 1, 28, 28, generator=generator)

    def labels(count):
        return torch.randint(0, 10, (count,), generator=generator)

    return mnist.MnistSplits(
        images(n), labels(n), images(64), labels(64), images(64), labels(64), torch.arange(64)
    )


def test_shift_images_moves_each_digit_by_whole_pixels() -> None:
    images = torch.rand(5, 1, 28, 28)
    shifts = torch.tensor([[0, 0], [2, 0], [0, -2], [-1, 1], [2, 2]])
    moved = shift_images(images, shifts)
    for image, (dx, dy), result in zip(images, shifts.tolist(), moved, strict=True):
        expected = torch.zeros_like(image)
        source = image[0]
        rows = slice(max(dy, 0), 28 + min(dy, 0))
        cols = slice(max(dx, 0), 28 + min(dx, 0))
        src_rows = slice(max(-dy, 0), 28 + min(-dy, 0))
        src_cols = slice(max(-dx, 0), 28 + min(-dx, 0))
        expected[0, rows, cols] = source[src_rows, src_cols]
        assert torch.equal(result, expected)


def test_augmentation_feeds_shifted_digits_to_the_network() -> None:
    splits = tiny_splits()
    seen = {}
    for augment in ("none", "shift"):
        trainer = Trainer(
            TrainConfig(augment=augment, epochs=1, batch_size=256), splits=splits, run=None
        )

        def first_input(module, args, augment=augment) -> None:
            seen.setdefault(augment, args[0].clone())  # returns None: the input is unchanged

        trainer.model.C1.register_forward_pre_hook(first_input)
        trainer.fit()
    assert seen["none"].shape == seen["shift"].shape
    assert not torch.equal(seen["none"], seen["shift"])
    # Same pixels, moved: the amount of ink is the same up to what falls off the edge.
    assert seen["shift"].sum() <= seen["none"].sum() + 1e-3


def test_impossible_variants_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="C3: dilated kernel spans 9 cells"):
        jobs.submit(TrainConfig(c1_kernel=9, pool=3, c3_kernel=9), tmp_path)
    for bad in (dict(activation="gelu"), dict(pooling="min"), dict(c1_channels=0)):
        with pytest.raises(ValueError):
            jobs.submit(TrainConfig(**bad), tmp_path)
    assert list(tmp_path.iterdir()) == []
    result = subprocess.run(
        [sys.executable, "-m", "core.train", "--c1-kernel", "9", "--pool", "3", "--c3-kernel", "9"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "C3: dilated kernel spans 9 cells" in result.stderr


@pytest.mark.mnist
def test_the_default_run_is_the_lecture_recipe_bit_for_bit(
    real_mnist_dir: Path, tmp_path: Path
) -> None:
    splits = mnist.load_mnist(real_mnist_dir)
    base = dict(epochs=2, train_subset=2_048, seed=6, log_every=4)
    train(TrainConfig(**base), tmp_path / "default", splits=splits)
    explicit = dict(
        lr=0.1,
        batch_size=64,
        validation_size=1024,
        c1_kernel=5,
        c1_channels=6,
        c1_padding=0,
        c3_kernel=5,
        c3_channels=16,
        c3_padding=0,
        pool=2,
        activation="relu",
        pooling="max",
        momentum=0.0,
        weight_decay=0.0,
        augment="none",
    )
    assert set(explicit) >= set(ARCHITECTURE_FIELDS)
    train(TrainConfig(**base, **explicit), tmp_path / "explicit", splits=splits)

    def records(name: str) -> list[dict]:
        drop = ("time", "seconds", "images_per_second")
        return [
            {k: v for k, v in r.items() if k not in drop}
            for r in open_run(tmp_path / name).read_metrics()
        ]

    assert records("default") == records("explicit")
    default_state = torch.load(tmp_path / "default" / "best.pt", weights_only=True)["model"]
    explicit_state = torch.load(tmp_path / "explicit" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(default_state[k], explicit_state[k]) for k in default_state)


@pytest.mark.mnist
def test_a_variant_trains_and_keeps_each_epochs_weights(
    real_mnist_dir: Path, tmp_path: Path
) -> None:
    config = TrainConfig(
        epochs=2,
        train_subset=8_192,
        seed=1,
        c1_channels=4,
        c3_kernel=3,
        activation="tanh",
        pooling="avg",
        momentum=0.9,
        augment="shift",
    )
    result = train(config, tmp_path / "variant")
    assert result.status == "completed"
    run = open_run(tmp_path / "variant")
    assert load_config(run) == config
    assert run.snapshot_epochs() == [0, 1, 2]
    start, end = (run.load_snapshot(e)["model"]["C1.weight"] for e in (0, 2))
    assert not torch.equal(start, end)  # the kernels learned something
    # Epoch 0 is the random start: about chance on the test set.
    assert evaluate_run(run, epoch=0).test_risk > 0.7
    model = run_model(run)
    assert type(model.activation) is nn.Tanh and type(model.S2) is nn.AvgPool2d
    if result.best_epoch == 2:
        final, last = evaluate_run(run), evaluate_run(run, epoch=2)
        assert np.array_equal(final.confusion, last.confusion)
    test = json.loads(run.test_path.read_text())
    assert evaluate_run(run).errors == test["misclassified"]


@pytest.mark.mnist
def test_runs_made_before_variants_still_open(real_mnist_dir: Path, tmp_path: Path) -> None:
    """A config.json of the lecture's fields only reads as the lecture's defaults."""
    train(TrainConfig(epochs=1, train_subset=1_024), tmp_path / "old")
    run = open_run(tmp_path / "old")
    old_fields = (
        "lr epochs batch_size validation_size seed device train_subset log_every data_dir group"
    ).split()
    config = json.loads(run.config_path.read_text())
    run.write_config({key: config[key] for key in old_fields} | {"log_every": 20})
    loaded = load_config(run)
    assert loaded.architecture == LeNetArchitecture() and loaded.momentum == 0.0
    assert loaded.augment == "none" and loaded.log_every == 20
    assert jobs.summarize(run).state == "completed"
    assert evaluate_run(run).test_risk == json.loads(run.test_path.read_text())["test_risk"]
    assert {f.name for f in fields(TrainConfig)} >= set(asdict(loaded))
