"""Time to the lecture's accuracy: the lecture's recipe against the fast preset, 3 seeds each.

    python benchmarks/time_to_accuracy.py [--seeds 0 1 2] [--only fast|lecture]

Each run is the whole `python -m core.train` process (start-up, MNIST, training, the test),
timed from outside, one after the other, interleaved by seed (lecture, fast, lecture, ...) so a
drift of this machine's speed hits both alike. Prints, per recipe: wall time (median, min-max),
epochs, and the test error (median, min-max), then the ratio of the median wall times. The
targets (issue 26): the fast preset's median test error <= 0.91% in <= 30 s, at least 3x
faster than the lecture's recipe. The test set is only reported here; the recipe was chosen
on the validation split.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECIPES = {"lecture": [], "fast": ["--preset", "fast"]}


def run(recipe: str, seed: int, root: Path) -> dict:
    run_dir = root / f"{recipe}-s{seed}"
    command = [sys.executable, "-m", "core.train", *RECIPES[recipe], "--seed", str(seed)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--run-dir", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{recipe} seed {seed} failed: {done.stderr[-500:]}")
    test = json.loads((run_dir / "test.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    epochs = [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if '"kind": "epoch"' in line
    ]
    return {
        "seconds": seconds,
        "epochs": config["epochs"],
        "test_error": test["test_risk"],
        "best_val_error": epochs[-1]["best_val_error"],
    }


def spread(values: list[float], fmt: str) -> str:
    points = (statistics.median(values), min(values), max(values))
    middle, low, high = (format(value, fmt) for value in points)
    return f"{middle} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=sorted(RECIPES), default=None)
    args = parser.parse_args()
    recipes = [args.only] if args.only else list(RECIPES)
    root = Path(tempfile.mkdtemp(prefix="time-to-accuracy-"))
    results: dict[str, list[dict]] = {name: [] for name in recipes}
    for seed in args.seeds:
        for name in recipes:
            result = run(name, seed, root)
            results[name].append(result)
            print(
                f"{name:8} seed {seed}: {result['seconds']:6.1f} s, {result['epochs']} epochs,"
                f" val error {result['best_val_error']:.4f}, test error {result['test_error']:.4f}",
                flush=True,
            )
    print()
    for name in recipes:
        rows = results[name]
        print(
            f"{name:8} wall {spread([r['seconds'] for r in rows], '.1f')} s,"
            f" {rows[0]['epochs']} epochs, test error"
            f" {spread([100 * r['test_error'] for r in rows], '.2f')} %"
        )
    if len(recipes) == 2:
        ratio = statistics.median(r["seconds"] for r in results["lecture"]) / statistics.median(
            r["seconds"] for r in results["fast"]
        )
        print(f"lecture / fast wall time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
