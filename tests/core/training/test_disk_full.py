"""A full disk, a file-size limit and a read-only runs folder: one line, exit 2, nothing lost.

Real filesystems, not mocks: each scenario (tests/disk_scenario.py) runs in a private mount
namespace on a tmpfs of a few MB (`unshare -m` as root, `unshare -rm` otherwise), and the
trainer is the real command line in a subprocess. The file-size limit is a real RLIMIT_FSIZE
(`ulimit -f`), under which Python's writes get EFBIG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def scenario(name: str, tmp_path: Path, size: str | None = None) -> dict:
    folder, report = tmp_path / "disk", tmp_path / "report.json"
    folder.mkdir()
    command = [sys.executable, "-m", "tests.disk_scenario", name, str(folder), str(report)]
    if size is not None:
        unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
        mount = f"mount -t tmpfs -o size={size} tmpfs {folder} && exec " + " ".join(command)
        command = [*unshare, "sh", "-c", mount]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(report.read_text())


def one_line(stderr: str) -> str:
    """The one line that says what went wrong (beside the progress lines, "epoch 1/2 [...")."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("epoch ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def mid_run(tmp_path_factory) -> dict:
    return scenario("mid_run", tmp_path_factory.mktemp("mid"), size="8m")


def test_a_disk_that_fills_mid_run_ends_it_crashed_in_one_line(mid_run):
    line = one_line(mid_run["stderr"])
    assert mid_run["rc"] == 2
    assert line.startswith("error: disk full: could not write ")
    assert "No space left on device" in line and "free there" in line
    assert "the run needs about" in line and "then resume the run" in line
    status = mid_run["after_crash"]["status"]
    assert status["state"] == "crashed" and status["message"].startswith("disk full: ")


def test_nothing_is_lost_and_the_run_resumes_once_there_is_room(mid_run):
    crashed, resumed = mid_run["after_crash"], mid_run["after_resume"]
    # What was written is whole: every snapshot loads, last.pt is the last epoch the status
    # counted, no temp file is left.
    assert crashed["snapshots_load"] and crashed["leftovers"] == []
    assert crashed["last_epoch"] == crashed["status"]["epoch"] >= 2
    assert crashed["snapshots"] == list(range(crashed["status"]["epoch"] + 1))
    assert mid_run["resume"]["rc"] == 0, mid_run["resume"]["stderr"]
    assert resumed["status"]["state"] == "completed"
    assert resumed["epochs_logged"] == list(range(1, 13))
    assert resumed["snapshots"] == list(range(13)) and resumed["snapshots_load"]


def test_a_file_size_limit_reads_disk_full_and_resumes(tmp_path):
    report = scenario("file_size_limit", tmp_path)
    line = one_line(report["stderr"])
    assert report["rc"] == 2
    assert line.startswith("error: disk full (file-size limit, ulimit -f): could not write ")
    assert "test_predictions.npz" in line and "(File too large)" in line
    assert "files of at most 307.2 KB" in line and "raise the limit, then resume" in line
    crashed = report["after_crash"]
    assert crashed["status"]["state"] == "crashed" and crashed["last_epoch"] == 2
    assert report["resume"]["rc"] == 0, report["resume"]["stderr"]
    assert report["after_resume"]["status"]["state"] == "completed"
    assert report["after_resume"]["epochs_logged"] == [1, 2]


def test_a_disk_too_small_for_the_run_refuses_it_before_it_starts(tmp_path):
    report = scenario("too_small", tmp_path, size="1m")
    line = one_line(report["cli"]["stderr"])
    assert report["cli"]["rc"] == 2
    assert line.startswith("error: disk full: the run needs about 1.9 MB and ")
    assert "free: free some space" in line
    assert report["submit"].startswith("disk full: the run needs about 1.9 MB")
    assert report["left"] == []  # no half-made run folder


def test_a_read_only_runs_folder_is_one_line(tmp_path):
    report = scenario("read_only", tmp_path, size="4m")
    line = one_line(report["cli"]["stderr"])
    assert report["cli"]["rc"] == 2
    assert line.startswith("error: read-only filesystem: could not write ")
    assert "make the runs folder writable" in line
    assert report["submit"].startswith("read-only filesystem: could not write ")
