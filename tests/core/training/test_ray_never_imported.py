"""Without a Ray address nothing changes: local jobs, one process a run, and `import ray` never
happens, in the job processes, the trainer or the pages' imports. A `ray` package that records
its own import (put first on PYTHONPATH) is the tripwire."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.training import jobs
from core.training.config import TrainConfig
from core.training.ray_jobs import RAY_ADDRESS_ENV
from tests.job_helpers import kill_jobs, state, wait_until

pytestmark = pytest.mark.mnist
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def tripwire(tmp_path: Path, monkeypatch) -> Path:
    package = tmp_path / "tripwire" / "ray"
    package.mkdir(parents=True)
    marker = tmp_path / "ray-was-imported"
    (package / "__init__.py").write_text(
        f"open({str(marker)!r}, 'a').write(__import__('os').getpid().__str__() + '\\n')\n"
        "raise ImportError('the local path must not import ray')\n"
    )
    monkeypatch.setenv("PYTHONPATH", f"{package.parent}{os.pathsep}{REPO}")
    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    return marker


def test_local_jobs_never_import_ray(tmp_path: Path, real_mnist_dir: Path, tripwire: Path) -> None:
    root = tmp_path / "runs"
    try:
        run = jobs.submit(TrainConfig(epochs=1, train_subset=2_048, log_every=4), root)
        wait_until(lambda: state(run) == "completed", timeout=300)
    finally:
        kill_jobs(root)
    assert not tripwire.exists(), "a local job imported ray"
    # The modules every page and the command line load, and the CLI's own run.
    code = (
        "import sys, core.training.cli, core.training.jobs, core.training.ray_jobs,"
        " core.analysis.background, dashboard.widgets, dashboard.training.form;"
        " assert core.training.ray_jobs.ray_address() is None;"
        " sys.exit(1 if 'ray' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not tripwire.exists()
