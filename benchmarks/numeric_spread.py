"""How far the numeric tests' floats move under other CPUs' kernels: the measurements behind
their tolerances (issue 20). Not a timed benchmark: it prints differences, not seconds.

    python benchmarks/numeric_spread.py            # native, AVX2 and SSE4.1 caps, ~2 min

Each setting runs in a child process with `ONEDNN_MAX_CPU_ISA` / `ATEN_CPU_CAPABILITY` set
(tests/isa.py), which gives this machine another CPU's float rounding. Within a setting it
measures what the tests compare on one machine (one worker against two,
tests/core/training/test_parallel.py); across settings it measures what no test may compare (the
same run on two CPUs). It also trains a deliberately wrong data-parallel step (one worker's share
lost) by hand, to show the tolerances still catch the bug they are there for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.isa import CAPS  # noqa: E402

SETTINGS = {"native": {}, **CAPS}
PLATEAU_STEPS = 100


def worst(xs: list[float], ys: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(xs, ys, strict=True))


def measure() -> dict:
    """In this process, under whatever cap its environment sets."""
    import torch
    import torch.nn.functional as F

    from core.model import mnist
    from core.runs.store import open_run
    from core.training.config import TrainConfig
    from core.training.loop import Trainer, train
    from core.training.steps import build_model, epoch_order

    splits = mnist.load_mnist(mnist.default_data_dir())
    out: dict = {"capability": torch.backends.cpu.get_cpu_capability()}
    root = Path(tempfile.mkdtemp())

    def losses(path: Path) -> list[float]:
        return [r["loss"] for r in open_run(path).read_metrics() if r["kind"] == "batch"]

    # tests/core/training/test_parallel.py::test_two_workers_train_like_one_process
    config = dict(epochs=2, train_subset=6_000, seed=3, log_every=1)
    one = train(TrainConfig(**config, workers=1), root / "one", splits=splits)
    two = train(TrainConfig(**config, workers=2), root / "two", splits=splits)
    a, b = losses(root / "one"), losses(root / "two")
    out["single_losses"] = a
    out["plateau"] = worst(a[:PLATEAU_STEPS], b[:PLATEAU_STEPS])
    out["after_plateau"] = worst(a, b)
    for key in ("train_loss", "val_loss"):
        out[key] = worst(*[[getattr(e, key) for e in run.history] for run in (one, two)])
    errors = [[x.val_error * 1024 for x in run.history] for run in (one, two)]
    out["val_error_images"] = round(worst(*errors))
    out["val_errors"] = [[x.val_error for x in one.history], [y.val_error for y in two.history]]
    out["test_risk"] = abs(one.test_risk - two.test_risk)
    out["test_risks"] = [one.test_risk, two.test_risk]
    out["best_epochs"] = [one.best_epoch, two.best_epoch]

    # tests/core/training/test_parallel.py::test_one_step_on_an_uneven_batch_gives_the_same_weights
    config = dict(epochs=2, train_subset=97, log_every=1, momentum=0.9, augment="shift")
    for workers in (1, 2):
        train(TrainConfig(**config, workers=workers), root / f"w{workers}", splits=splits)
    w1 = open_run(root / "w1").load_snapshot(2)["model"]
    w2 = open_run(root / "w2").load_snapshot(2)["model"]
    out["one_step_weights"] = max((w1[k] - w2[k]).abs().max().item() for k in w1)

    # tests/core/training/test_parallel.py::test_more_workers_than_the_last_batch_has_images
    config = dict(epochs=1, train_subset=65, log_every=1)
    for workers in (1, 2):
        train(TrainConfig(**config, workers=workers), root / f"s{workers}", splits=splits)
    out["tiny_losses"] = max(
        abs(x - y) for x, y in zip(losses(root / "s1"), losses(root / "s2"), strict=True)
    )

    # The bug the plateau check is for: a step that loses one worker's share (32 of 64).
    config = TrainConfig(epochs=1, train_subset=6_000, seed=3, workers=1)
    trainer = Trainer(config, splits)
    images, labels = trainer.train_x, trainer.train_y
    model, optimizer = build_model(config, torch.device("cpu"), torch.channels_last)
    order = epoch_order(3, 0, len(labels))
    lost = []
    for step in range(PLATEAU_STEPS):
        index = order[step * 64 : step * 64 + 64]
        x, y = images[index], labels[index]
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        (F.cross_entropy(model(x[:32]), y[:32], reduction="sum") / 64).backward()
        optimizer.step()
        lost.append(loss.item())
    out["lost_share_plateau"] = worst(a[:PLATEAU_STEPS], lost)
    return out


def main() -> None:
    results = {}
    for name, caps in SETTINGS.items():
        env = {k: v for k, v in os.environ.items() if k not in CAPS["SSE41"]}
        env.update(caps)
        code = "import json, benchmarks.numeric_spread as m; print(json.dumps(m.measure()))"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(done.stderr)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    keys = [
        "plateau",
        "after_plateau",
        "train_loss",
        "val_loss",
        "val_error_images",
        "test_risk",
        "one_step_weights",
        "tiny_losses",
        "lost_share_plateau",
    ]
    print(f"{'one worker vs two, same CPU':<28}" + "".join(f"{n:>14}" for n in results))
    for key in keys:
        print(f"{key:<28}" + "".join(f"{r[key]:>14.3g}" for r in results.values()))
    for name, r in results.items():
        print(
            f"{name}: {r['capability']}, best epochs {r['best_epochs']}, val errors"
            f" {r['val_errors']}, test risks {r['test_risks']}"
        )
    native = results["native"]["single_losses"]
    for name, r in results.items():
        if name != "native":
            other = r["single_losses"]
            plateau = worst(native[:PLATEAU_STEPS], other[:PLATEAU_STEPS])
            print(
                f"one process, native vs {name}: plateau {plateau:.3g},"
                f" all steps {worst(native, other):.3g}"
            )


if __name__ == "__main__":
    main()
