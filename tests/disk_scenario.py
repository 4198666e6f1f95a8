"""Full-disk scenarios for tests/core/training/test_disk_full.py, run inside a private mount
namespace.

    python -m tests.disk_scenario NAME FOLDER REPORT

FOLDER is a small tmpfs that the test mounted for this process alone (`unshare -m`, or
`unshare -rm` for a user who is not root: tests/core/training/test_disk_full.py); it disappears
with the namespace, so everything the test asserts on is written to REPORT (JSON, outside the
tmpfs). Every training step is the real command line, `python -m core.train`, in a subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from core.files import StorageError
from core.runs.store import Run
from core.training import jobs
from core.training.config import TrainConfig

PYTHON = sys.executable
SMALL = ["--train-subset", "4096", "--workers", "1"]


def cli(*args: str) -> dict:
    done = subprocess.run(
        [PYTHON, "-m", "core.train", *args], capture_output=True, text=True, timeout=600
    )
    return {"rc": done.returncode, "stderr": done.stderr, "stdout": done.stdout}


def fill(folder: Path) -> int:
    """Write zeros into folder/filler until the filesystem says it is full; bytes written."""
    written = 0
    block = b"\0" * 65536
    with open(folder / "filler", "wb", buffering=0) as handle:
        while True:
            try:
                written += handle.write(block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                block = block[: len(block) // 2]
                if not block:
                    return written


def run_facts(run_dir: Path) -> dict:
    run = Run(run_dir)
    facts: dict = {"status": run.read_status(), "snapshots": run.snapshot_epochs()}
    facts["snapshots_load"] = all(
        run.load_snapshot(epoch)["epoch"] == epoch for epoch in facts["snapshots"]
    )
    last = run.load_checkpoint("last") if run.has_checkpoint("last") else None
    facts["last_epoch"] = last["epoch"] if last is not None else None
    facts["epochs_logged"] = [r["epoch"] for r in run.read_metrics() if r["kind"] == "epoch"]
    facts["leftovers"] = sorted(path.name for path in run_dir.rglob(".*.part"))
    return facts


def mid_run(folder: Path) -> dict:
    """Fill the disk while a run trains; the run ends crashed, resumes once there is room."""
    run_dir = folder / "run"
    command = [PYTHON, "-m", "core.train", "--epochs", "12", *SMALL, "--run-dir", str(run_dir)]
    trainer = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and trainer.poll() is None:
        try:
            if Run(run_dir).read_status().get("epoch", 0) >= 2:
                break
        except Exception:  # not written yet
            pass
        time.sleep(0.01)
    filled = fill(folder)
    _, stderr = trainer.communicate(timeout=300)
    report = {"filled": filled, "rc": trainer.returncode, "stderr": stderr}
    report["after_crash"] = run_facts(run_dir)
    (folder / "filler").unlink()
    report["resume"] = cli("--run-dir", str(run_dir), "--resume")
    report["after_resume"] = run_facts(run_dir)
    return report


def file_size_limit(folder: Path) -> dict:
    """`ulimit -f` of 300 KB: the weights (250 KB) fit, the test predictions (375 KB) do not."""
    import resource

    run_dir = folder / "run"
    limit = 300 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [PYTHON, "-m", "core.train", "--epochs", "2", *SMALL, "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limited,
    )
    report = {"rc": done.returncode, "stderr": done.stderr, "after_crash": run_facts(run_dir)}
    report["resume"] = cli("--run-dir", str(run_dir), "--resume")
    report["after_resume"] = run_facts(run_dir)
    return report


def new_run_both_ways(folder: Path) -> dict:
    """A new 2-epoch run in `folder` from the command line, then from the dashboard's submit:
    what each said."""
    report: dict = {"cli": cli("--epochs", "2", *SMALL, "--runs-root", str(folder))}
    try:
        jobs.submit(TrainConfig(epochs=2, train_subset=4096), folder)
        report["submit"] = None
    except StorageError as error:
        report["submit"] = str(error)
    return report


def too_small(folder: Path) -> dict:
    """1 MB for a run that needs about 1.9 MB: refused before it starts, by the command line
    and by the dashboard's submit."""
    report = new_run_both_ways(folder)
    report["left"] = sorted(path.name for path in folder.iterdir())
    return report


def read_only(folder: Path) -> dict:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    return new_run_both_ways(folder)


SCENARIOS = {
    "mid_run": mid_run,
    "file_size_limit": file_size_limit,
    "too_small": too_small,
    "read_only": read_only,
}

if __name__ == "__main__":
    name, folder, report_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    os.environ.pop("CNN_RUNS_DIR", None)
    Path(report_path).write_text(json.dumps(SCENARIOS[name](folder), indent=2))
