"""Render time of the errors page's first gallery page (48 digits), evaluation cached on disk.

    python benchmarks/errors_gallery.py [--repeats 5]

Trains one quick run into a temporary runs folder (so the gallery has hundreds of mistakes),
evaluates it once (which writes evaluation.npz, the cache), then times fresh AppTest sessions
of pages/errors.py: the whole script run, including reading the cache, the confusion matrix,
the charts and 48 digit tiles. Baseline in the same process: the page's empty state (no
runs). Target (issue 6): at most 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.analysis.evaluate import evaluate_run
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train

PAGE = Path(__file__).resolve().parent.parent / "pages" / "errors.py"


def render_ms(runs_root: Path, repeats: int) -> float:
    os.environ["CNN_RUNS_DIR"] = str(runs_root)
    times = []
    for _ in range(repeats):
        app = AppTest.from_file(str(PAGE), default_timeout=120)
        started = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - started) * 1000)
        if app.exception:
            raise SystemExit(f"the page failed: {app.exception}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as runs:
        root = Path(runs)
        train(TrainConfig(epochs=1, train_subset=8_192, seed=0), root / "benchmark-run")
        evaluation = evaluate_run(open_run(root / "benchmark-run"))  # writes the cache
        render_ms(Path(empty), 1)  # warm-up: imports
        baseline = render_ms(Path(empty), args.repeats)
        gallery = render_ms(root, args.repeats)
    print(f"empty state (baseline):                {baseline:6.0f} ms")
    print(
        f"first gallery page, {evaluation.errors:,} mistakes, 48 tiles: {gallery:6.0f} ms"
        f"  ({gallery / baseline:.1f}x the baseline; target <= 1,000 ms)"
    )


if __name__ == "__main__":
    main()
