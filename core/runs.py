"""Training runs on disk: one folder per run under `runs/` (or $CNN_RUNS_DIR).

A run folder holds
  config.json            the TrainConfig it was started with
  status.json            queued / running / completed / stopped / diverged / failed (+ message)
  metrics.jsonl          one JSON object per line: batch losses, epoch summaries
  last.pt, best.pt       checkpoints (model, optimizer, position, RNG state), loadable with
                         torch.load(..., weights_only=True)
  test.json              test risk and summary of the best model on the 10,000 test images
  test_predictions.npz   per-image labels, predictions and probabilities

Nothing is lost on a crash: the metrics log is appended and flushed as it goes and fsynced at
each epoch; everything else is written atomically (temp file + rename); the reader skips a
half-written last line.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.data import atomic_write

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR_ENV = "CNN_RUNS_DIR"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
STATES = ("queued", "running", "completed", "stopped", "diverged", "failed", "crashed")
FINAL_STATES = ("completed", "stopped", "diverged", "failed", "crashed")


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_DIR_ENV) or REPO_ROOT / "runs")


def validate_run_id(run_id: str) -> str:
    """Run ids are names, never paths: letters, digits, '.', '_' and '-', at most 80."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise ValueError(
            f"invalid run id {run_id!r}: use letters, digits, '.', '_' or '-' (at most 80)"
        )
    return run_id


def new_run_id(lr: float, seed: int) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-lr{lr:g}-s{seed}-{os.urandom(2).hex()}"


def _json_safe(value: Any) -> Any:
    """NaN and inf are not JSON: store them as null with the word beside, never as a crash."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(_json_safe(value), indent=2).encode())


def read_json(path: Path) -> Any:
    with open(path) as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Run:
    """A handle on one run folder; all reads tolerate a run that is being written."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    # -- files
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def test_path(self) -> Path:
        return self.path / "test.json"

    @property
    def predictions_path(self) -> Path:
        return self.path / "test_predictions.npz"

    def checkpoint_path(self, name: str) -> Path:
        if name not in ("last", "best"):
            raise ValueError(f"checkpoint must be 'last' or 'best', got {name!r}")
        return self.path / f"{name}.pt"

    # -- config and status
    def read_config(self) -> dict:
        return read_json(self.config_path)

    def write_config(self, config: dict) -> None:
        atomic_write_json(self.config_path, config)

    def write_status(self, state: str, message: str | None = None, **extra: Any) -> None:
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        record = {"state": state, "message": message, "updated": time.time(), **extra}
        atomic_write_json(self.status_path, record)

    def read_status(self) -> dict:
        try:
            return read_json(self.status_path)
        except (FileNotFoundError, json.JSONDecodeError):
            return {"state": "unknown", "message": "no status written yet"}

    # -- metrics
    def append_metrics(self, records: Iterable[dict], sync: bool = False) -> None:
        with open(self.metrics_path, "a") as handle:
            for record in records:
                handle.write(json.dumps(_json_safe(record)) + "\n")
            handle.flush()
            if sync:
                os.fsync(handle.fileno())

    def read_metrics(self) -> list[dict]:
        """Every complete line; a half-written last line (a crash mid-write) is skipped."""
        try:
            text = self.metrics_path.read_text()
        except FileNotFoundError:
            return []
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def truncate_metrics(self, keep: int) -> None:
        """Keep the first `keep` complete records (used when resuming from a checkpoint)."""
        records = self.read_metrics()[:keep]
        text = "".join(json.dumps(record) + "\n" for record in records)
        atomic_write(self.metrics_path, text.encode())

    # -- checkpoints
    def save_checkpoint(self, name: str, state: dict) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write(self.checkpoint_path(name), buffer.getvalue())

    def load_checkpoint(self, name: str, map_location: str | torch.device = "cpu") -> dict:
        return torch.load(self.checkpoint_path(name), map_location=map_location, weights_only=True)

    def has_checkpoint(self, name: str) -> bool:
        return self.checkpoint_path(name).is_file()

    # -- results
    def read_test(self) -> dict | None:
        try:
            return read_json(self.test_path)
        except (FileNotFoundError, json.JSONDecodeError):
            return None


def create_run(config: dict, run_dir: Path | None = None, runs_root: Path | None = None) -> Run:
    """Make a new run folder (refusing to reuse one that has a config) and write its config."""
    if run_dir is None:
        root = runs_root or default_runs_dir()
        run_dir = root / new_run_id(config.get("lr", 0.0), config.get("seed", 0))
    run = Run(Path(run_dir))
    validate_run_id(run.id)
    if run.config_path.exists():
        raise FileExistsError(f"{run.path} already holds a run; use --resume to continue it")
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_config(config)
    run.write_status("queued")
    return run


def open_run(run_dir: Path) -> Run:
    run = Run(Path(run_dir))
    validate_run_id(run.id)
    if not run.config_path.is_file():
        raise FileNotFoundError(f"no run in {run.path} (config.json missing)")
    return run


def list_runs(runs_root: Path | None = None) -> list[Run]:
    """All run folders, newest first."""
    root = runs_root or default_runs_dir()
    if not root.is_dir():
        return []
    runs = [Run(path) for path in root.iterdir() if (path / "config.json").is_file()]
    return sorted(runs, key=lambda run: run.config_path.stat().st_mtime, reverse=True)
