"""The learning-rate schedules, Nesterov momentum and label smoothing (issue 26's fast recipe):
the rate is a pure function of the step, so a stopped and resumed run and a data-parallel run
take the same steps; the fast preset is the lecture's network with the recipe's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.model import mnist
from core.runs.store import open_run
from core.training.cli import build_parser
from core.training.config import FAST_RECIPE, TrainConfig
from core.training.loop import Callbacks, train
from core.training.steps import ONECYCLE_END, ONECYCLE_START, learning_rate, scheduled

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.mnist


def rates(config: TrainConfig) -> list[float]:
    return [learning_rate(config, step) for step in range(config.epochs * config.batches_per_epoch)]


def test_every_schedule_starts_peaks_and_ends_where_it_says() -> None:
    base = dict(lr=0.2, epochs=2, train_subset=6_400, batch_size=64)  # 200 steps
    constant = rates(TrainConfig(**base))
    assert set(constant) == {0.2} and not scheduled(TrainConfig(**base))
    onecycle = rates(TrainConfig(**base, schedule="onecycle"))
    peak = onecycle.index(max(onecycle))
    assert peak == 59  # 30% of 200 steps rise
    assert onecycle[0] == pytest.approx(0.2 * (ONECYCLE_START + (1 - ONECYCLE_START) / 60))
    assert max(onecycle) == pytest.approx(0.2)
    assert onecycle[-1] == pytest.approx(0.2 * ONECYCLE_END)
    assert all(a <= b for a, b in zip(onecycle[:peak], onecycle[1 : peak + 1], strict=True))
    assert all(a >= b for a, b in zip(onecycle[peak:], onecycle[peak + 1 :], strict=False))
    cosine = rates(TrainConfig(**base, schedule="cosine", warmup=0.1))
    assert cosine[:20] == pytest.approx([0.2 * (s + 1) / 20 for s in range(20)])
    assert cosine[20] == pytest.approx(0.2) and cosine[-1] < 0.2 * 1e-3
    linear = rates(TrainConfig(**base, schedule="linear"))
    assert (
        linear[0] == 0.2
        and linear[100] == pytest.approx(0.1)
        and linear[-1] == pytest.approx(0.001)
    )
    warm = rates(TrainConfig(**base, warmup=0.25))
    assert warm[49] == pytest.approx(0.2) and set(warm[50:]) == {0.2}


def test_bad_settings_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="exponential")
    with pytest.raises(ValueError, match="nesterov needs a momentum"):
        TrainConfig(nesterov=True)
    with pytest.raises(ValueError, match="warmup must be from 0 to 0.5"):
        TrainConfig(warmup=0.6)
    with pytest.raises(ValueError, match="label_smoothing must be from 0 to 0.3"):
        TrainConfig(label_smoothing=0.5)


@pytest.fixture(scope="module")
def splits(real_mnist_dir: Path) -> mnist.MnistSplits:
    return mnist.load_mnist(validation_size=mnist.VALIDATION_SIZE)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return open_run(run_dir).load_checkpoint("last")["model"]


def test_a_scheduled_run_stopped_and_resumed_takes_the_same_steps(
    splits: mnist.MnistSplits, tmp_path: Path
) -> None:
    config = TrainConfig(
        epochs=2, train_subset=2_048, seed=3, log_every=4, momentum=0.9, nesterov=True,
        schedule="onecycle", label_smoothing=0.1, batch_size=128,
    )  # fmt: skip
    train(config, tmp_path / "whole", splits=splits)
    calls = {"n": 0}

    def stop_after_20_batches() -> bool:
        calls["n"] += 1
        return calls["n"] == 20

    stopped = train(
        config, tmp_path / "split", callbacks=Callbacks(should_stop=stop_after_20_batches),
        splits=splits,
    )  # fmt: skip
    assert stopped.status == "stopped"
    assert train(config, tmp_path / "split", resume=True, splits=splits).status == "completed"
    whole, split = weights(tmp_path / "whole"), weights(tmp_path / "split")
    assert all(torch.equal(whole[k], split[k]) for k in whole)
    # The schedule really changed the steps: the same run at a constant rate ends elsewhere.
    constant = TrainConfig(**{**config.__dict__, "schedule": "constant"})
    train(constant, tmp_path / "constant", splits=splits)
    other = weights(tmp_path / "constant")
    assert max((whole[k] - other[k]).abs().max().item() for k in whole) > 1e-3


@pytest.mark.numerics
def test_two_workers_follow_the_schedule_as_one_process_does(
    splits: mnist.MnistSplits, tmp_path: Path
) -> None:
    """97 images, batches of 64 and 33, 2 epochs with a one-cycle rate, Nesterov momentum and
    label smoothing: the weights of 1 and 2 workers agree to rounding (1e-5, as the plain
    runs' do in test_parallel.py; this run's worst difference measured 7.45e-9 under AVX-512,
    AVX2 and SSE4.1 with ATen's scalar kernels, 2026-12-07)."""
    settings = dict(
        epochs=2, train_subset=97, log_every=1, momentum=0.9, nesterov=True,
        schedule="onecycle", label_smoothing=0.1,
    )  # fmt: skip
    for workers in (1, 2):
        config = TrainConfig(**settings, workers=workers)
        train(config, tmp_path / f"w{workers}", splits=splits)
    single, shared = weights(tmp_path / "w1"), weights(tmp_path / "w2")
    for name in single:
        assert torch.allclose(single[name], shared[name], atol=1e-5, rtol=0), name


def test_the_fast_preset_is_the_lecture_network_with_the_recipe() -> None:
    from core.training.cli import apply_recipe, architecture_of

    argv = ["--preset", "fast", "--epochs", "3", "--no-nesterov", "--momentum=0.8"]
    args = build_parser().parse_args(argv)
    apply_recipe(args, argv)
    assert (args.epochs, args.nesterov, args.momentum) == (3, False, 0.8)  # given: kept
    assert args.batch_size == FAST_RECIPE["batch_size"] and args.schedule == "onecycle"
    assert architecture_of(args) == architecture_of(build_parser().parse_args([]))  # lecture's
    plain = build_parser().parse_args([])
    apply_recipe(plain, [])
    assert (plain.epochs, plain.schedule, plain.nesterov) == (20, "constant", False)


def test_the_fast_preset_trains_with_the_recipe_and_a_flag_overrides_it(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    run_dir = tmp_path / "fast"
    done = subprocess.run(
        [sys.executable, "-m", "core.train", "--preset", "fast", "--lr", "0.2", "--epochs", "1",
         "--train-subset", "1000", "--run-dir", str(run_dir)],
        cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = json.loads((run_dir / "config.json").read_text())
    assert (saved["lr"], saved["epochs"]) == (0.2, 1)  # given on the command line
    for name in ("batch_size", "momentum", "nesterov", "schedule", "label_smoothing"):
        assert saved[name] == FAST_RECIPE[name], name
    assert saved["c1_channels"] == 6  # the lecture's network
