"""What an open training page costs a training run: images/s with and without a browser polling.

    python benchmarks/polling_cost.py [--repeats 3] [--train-subset 40000] [--epochs 2]
                                      [--settle 1] [--workers N]

Starts `streamlit run dashboard/Home.py` (runs in a temporary folder), then trains the same run
repeatedly as a background job, alternating: no page open, and Chromium showing the training
page (which refreshes about once a second while the run is active). Two numbers per run:

- **steady** (the target, issue 5): images/s between the run's logged batches from
  `--settle` seconds after the page was showing the live run (and at least that long after
  the first batch) to the end; the run alone is timed over the same part of its training;
- **whole run**: the epochs' own images/s, which also carries the cost of opening the page
  (Chromium loading the app and drawing it for the first time, the server's first run).

Prints the medians and the slowdowns. Target: at most 5% steady. `--workers 2` trains
data-parallel (as the full recipe does by default on 2+ cores; a short run would not).
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


def one_run(
    root: Path, subset: int, epochs: int, settle: float, open_page=None, workers=None
) -> tuple[float, float, float | None]:
    """(whole-run images/s, steady images/s, seconds from the first batch to the page showing
    the live run). Steady: batches logged from `settle` seconds after both the first batch and
    the page being live, within an epoch (validation between epochs is not training)."""
    config = TrainConfig(epochs=epochs, train_subset=subset, log_every=10, workers=workers)
    run = jobs.submit(config, root)
    live = None
    if open_page is not None:  # the page polls only when it sees an active run as it loads
        open_page()
        live = time.time()
    while jobs.is_active(run):
        time.sleep(0.2)
    records = run.read_metrics()
    epoch_records = [r for r in records if r["kind"] == "epoch"]
    if jobs.job_state(run)["state"] != "completed" or len(epoch_records) != epochs:
        tail = jobs.output_tail(run)
        raise RuntimeError(f"run {run.id} did not complete: {jobs.job_state(run)}\n{tail}")
    whole = sum(r["images_per_second"] * r["seconds"] for r in epoch_records) / sum(
        r["seconds"] for r in epoch_records
    )
    batches = [r for r in records if r["kind"] == "batch"]
    start = max(batches[0]["time"], live or 0) + settle
    steps = seconds = 0.0
    for before, after in zip(batches, batches[1:], strict=False):
        if before["time"] >= start and before["epoch"] == after["epoch"]:
            steps += after["step"] - before["step"]
            seconds += after["time"] - before["time"]
    if seconds < 1.0:
        raise RuntimeError(f"only {seconds:.2f} s of steady training: use a longer run")
    steady = steps * config.batch_size / seconds
    return whole, steady, None if live is None else live - batches[0]["time"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-subset", type=int, default=40_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds (default 1)")
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
                one_run(root, 4_096, 1, 0.0, workers=args.workers)  # warm-up: caches, imports
                for repeat in range(args.repeats):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})

                    def open_page(page=page) -> None:
                        page.goto(f"{url}/training")
                        page.get_by_text("Live: refreshing").wait_for(timeout=30_000)

                    shape = (root, args.train_subset, args.epochs, args.settle)
                    # Alternate which goes first: this machine's speed drifts over minutes.
                    if repeat % 2:
                        watched.append(one_run(*shape, open_page, args.workers))
                        alone.append(one_run(*shape, workers=args.workers))
                    else:
                        alone.append(one_run(*shape, workers=args.workers))
                        watched.append(one_run(*shape, open_page, args.workers))
                    page.close()
                    print(
                        f"repeat {repeat + 1}: alone {alone[-1][0]:,.0f} img/s"
                        f" (steady {alone[-1][1]:,.0f}), page open {watched[-1][0]:,.0f} img/s"
                        f" (steady {watched[-1][1]:,.0f}); the page was live"
                        f" {watched[-1][2]:+.1f} s after the first batch",
                        flush=True,
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    for name, index in (("steady (target)", 1), ("whole run, page opening included", 0)):
        base = statistics.median(a[index] for a in alone)
        polled = statistics.median(w[index] for w in watched)
        print(f"\n{name}:")
        print(f"  training alone:          {base:,.0f} img/s")
        print(f"  training with page open: {polled:,.0f} img/s")
        print(f"  cost of the open page:   {(1 - polled / base):.1%} of images/s   (target <= 5%)")


if __name__ == "__main__":
    main()
