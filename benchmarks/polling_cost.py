"""What an open training page costs a training run: images/s with and without a browser polling.

    python benchmarks/polling_cost.py [--repeats 2] [--train-subset 30000] [--workers N]

Starts `streamlit run dashboard/Home.py` (runs in a temporary folder), then trains the same
one-epoch run repeatedly as a background job, alternating: no page open, and Chromium showing
the training page (which refreshes about once a second while the run is active). Prints the
median images/s of each and the slowdown. Target (issue 5): at most 5%. `--workers 2` trains
data-parallel (as the full recipe does by default on 2+ cores; a one-epoch run would not).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # reuse the e2e harness

from core import jobs  # noqa: E402
from core.train import TrainConfig  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM_FLAGS,
    chromium_executable,
    free_port,
    start_app,
    wait_for_health,
)


def one_run(root: Path, subset: int, open_page=None, workers: int | None = None) -> float:
    config = TrainConfig(epochs=1, train_subset=subset, log_every=20, workers=workers)
    run = jobs.submit(config, root)
    if open_page is not None:  # the page polls only when it sees an active run as it loads
        open_page()
    while jobs.is_active(run):
        time.sleep(0.2)
    epochs = [r for r in run.read_metrics() if r["kind"] == "epoch"]
    if jobs.job_state(run)["state"] != "completed" or not epochs:
        tail = jobs.output_tail(run)
        raise RuntimeError(f"run {run.id} did not complete: {jobs.job_state(run)}\n{tail}")
    return epochs[-1]["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--train-subset", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=None, help="default: auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as runs:
        root = Path(runs)
        port = free_port()
        server = start_app(port, runs_root=root, output=subprocess.DEVNULL)
        os.environ["CNN_RUNS_DIR"] = runs
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, server)
            alone, watched = [], []
            with sync_playwright() as playwright:
                executable = chromium_executable()
                browser = playwright.chromium.launch(
                    executable_path=executable, args=CHROMIUM_FLAGS if executable else None
                )
                one_run(root, 4_096, workers=args.workers)  # warm-up: caches, first imports
                for repeat in range(args.repeats):
                    alone.append(one_run(root, args.train_subset, workers=args.workers))
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})

                    def open_page(page=page) -> None:
                        page.goto(f"{url}/training")
                        page.get_by_text("Live: refreshing").wait_for(timeout=30_000)

                    watched.append(one_run(root, args.train_subset, open_page, args.workers))
                    page.close()
                    print(
                        f"repeat {repeat + 1}: alone {alone[-1]:,.0f} img/s,"
                        f" page open {watched[-1]:,.0f} img/s",
                        flush=True,
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    base, polled = statistics.median(alone), statistics.median(watched)
    print(f"\ntraining alone:          {base:,.0f} img/s")
    print(f"training with page open: {polled:,.0f} img/s")
    print(f"cost of the open page:   {(1 - polled / base):.1%} of images/s   (target <= 5%)")


if __name__ == "__main__":
    main()
