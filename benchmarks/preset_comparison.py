"""The experiment lab's measurement: the lecture's LeNet-5 against LeNet-5 as in 1998 (tanh,
average pooling), each with and without shift augmentation, 3 seeds each, the full recipe
(20 epochs on all 58,976 images): test risks, median and spread.

    python benchmarks/preset_comparison.py [--seeds 0,1,2] [--runs-root /tmp/preset-runs]

Each run is an ordinary `python -m core.train` run folder, trained one after the other; a run
already completed in --runs-root is reused, so the script can be stopped and started again.
About 2 minutes a run on an idle 2-core machine: 12 runs, about 25 minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VARIANTS = [
    ("lecture", "none"),
    ("1998", "none"),
    ("lecture", "shift"),
    ("1998", "shift"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--runs-root", type=Path, default=Path("/tmp/preset-runs"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[tuple[str, str], list[float]] = {}
    for seed in seeds:  # seed-major: an interrupted measurement still covers every variant
        for preset, augment in VARIANTS:
            run_dir = args.runs_root / f"{preset}-{augment}-s{seed}"
            test = run_dir / "test.json"
            if not test.is_file():
                subprocess.run(["rm", "-rf", str(run_dir)], check=True)
                command = [sys.executable, "-m", "core.train", "--preset", preset]
                command += ["--augment", augment, "--seed", str(seed), "--run-dir", str(run_dir)]
                subprocess.run(command, cwd=REPO_ROOT, check=True)
            risk = json.loads(test.read_text())["test_risk"]
            results.setdefault((preset, augment), []).append(risk)
            print(f"{preset:8} augment {augment:5} seed {seed}: test risk {risk:.4f}", flush=True)
    print("\nnetwork   augment  runs  median   min     max")
    for (preset, augment), risks in results.items():
        print(
            f"{preset:8}  {augment:7}  {len(risks):>4}  {statistics.median(risks):.4f}"
            f"  {min(risks):.4f}  {max(risks):.4f}"
        )


if __name__ == "__main__":
    main()
