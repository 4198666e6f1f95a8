"""Training on a real local Ray cluster (ray.cluster_utils.Cluster: a head that trains nothing
and two nodes of one CPU each, real raylets on this machine): two students' runs train at once,
one on each node, and equal the same runs trained here; a node killed mid-run leaves the run
`crashed` and resume (through Ray) finishes it exactly; Stop, Delete and a second trainer behave
as they do locally. Without an address, Ray is never imported (tests/core/training/
test_ray_never_imported.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.runs.store import Run, RunBusyError
from core.training import jobs
from core.training.config import TrainConfig
from core.training.ray_jobs import RAY_ADDRESS_ENV, RAY_FILE, FolderWatch, apply_change, ray_info
from tests.job_helpers import kill_jobs, state, wait_until

pytestmark = [pytest.mark.mnist, pytest.mark.ray]

REPO = Path(__file__).resolve().parents[3]
OBJECT_STORE = 80 * 2**20


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    # The head schedules nothing (0 CPUs), so killing a training node never kills the cluster.
    # Ray marks a node dead after health_check_failure_threshold missed checks, one every
    # health_check_period_ms (defaults 5 x 3 s): shorter here, so a test sees it sooner.
    head = {
        "num_cpus": 0,
        "object_store_memory": OBJECT_STORE,
        "include_dashboard": False,
        "_system_config": {"health_check_period_ms": 1000, "health_check_failure_threshold": 3},
    }
    made = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(2):
        made.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
    made.wait_for_nodes()
    yield made
    made.shutdown()


@pytest.fixture
def runs_root(tmp_path: Path, real_mnist_dir: Path, cluster, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv(RAY_ADDRESS_ENV, cluster.address)  # the job processes inherit it
    yield root
    kill_jobs(root)


def quick(seed: int, epochs: int = 1, images: int = 4_096) -> TrainConfig:
    return TrainConfig(epochs=epochs, train_subset=images, log_every=4, seed=seed, workers=1)


def train_here(config: TrainConfig, root: Path) -> Path:
    """The same config trained by a local process with the one core a Ray node gives it."""
    env = {**os.environ, "CNN_CPUS": "1"}
    env.pop(RAY_ADDRESS_ENV, None)
    run_dir = root / f"local-s{config.seed}"
    args = [f"--{k.replace('_', '-')}={v}" for k, v in config.__dict__.items() if k in SETTINGS]
    subprocess.run(
        [sys.executable, "-m", "core.training", *args, "--run-dir", str(run_dir)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return run_dir


SETTINGS = ("epochs", "train_subset", "log_every", "seed", "workers")


def same_weights(a: Path, b: Path) -> bool:
    x = torch.load(a / "last.pt", weights_only=True)["model"]
    y = torch.load(b / "last.pt", weights_only=True)["model"]
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def epochs_of(run_dir: Path) -> list[dict]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    keep = ("epoch", "train_loss", "val_loss", "val_error", "best_epoch")
    return [{k: r[k] for k in keep} for r in records if r["kind"] == "epoch"]


def test_two_students_train_at_once_one_on_each_node_as_they_would_here(runs_root: Path) -> None:
    configs = [quick(seed=1, images=8_192), quick(seed=2, images=8_192)]
    runs = [
        jobs.submit(config, runs_root, owner=owner, limit=1)
        for config, owner in zip(configs, ("alice", "bob"), strict=True)
    ]
    for run in runs:
        wait_until(lambda run=run: state(run) == "completed", timeout=300)
    infos = [ray_info(run) for run in runs]
    assert {info["engine"] for info in infos} == {"ray"}
    assert infos[0]["node_id"] != infos[1]["node_id"]  # one on each node
    # At once: each was placed on its node before the other one ended.
    ended = [run.read_status()["updated"] for run in runs]
    assert infos[0]["placed"] < ended[1] and infos[1]["placed"] < ended[0]
    for config, run in zip(configs, runs, strict=True):
        here = train_here(config, runs_root.parent)
        assert same_weights(run.path, here)
        assert epochs_of(run.path) == epochs_of(here)
        assert (
            run.read_test()["test_risk"]
            == json.loads((here / "test.json").read_text())["test_risk"]
        )
        assert "epoch   1/1" in (run.path / "output.log").read_text()  # the node's log, here


def test_stop_queued_and_running_delete_and_a_second_trainer_is_refused(runs_root: Path) -> None:
    long = [quick(seed=s, epochs=20, images=16_384) for s in (3, 4)]
    busy = [jobs.submit(config, runs_root) for config in long]
    for run in busy:  # both nodes train
        wait_until(lambda run=run: ray_info(run).get("placed"), timeout=120)
    waiting = [jobs.submit(quick(seed=s), runs_root) for s in (5, 6)]
    wait_until(lambda: "next in line" in (waiting[0].read_status().get("message") or ""))
    wait_until(lambda: "1 run ahead" in (waiting[1].read_status().get("message") or ""))
    assert state(waiting[0]) == "queued" and "queued on Ray" in waiting[1].read_status()["message"]

    jobs.stop(waiting[0])  # queued on Ray: ends without ever training
    wait_until(lambda: state(waiting[0]) == "stopped" and not waiting[0].is_locked())
    assert not (waiting[0].path / "metrics.jsonl").exists()

    first = busy[0]
    wait_until(lambda: any(r["kind"] == "batch" for r in first.read_metrics()))
    with pytest.raises(RunBusyError):  # a second trainer, here
        first.acquire_lock(wait=0.0)
    second = subprocess.run(
        [sys.executable, "-m", "core.training", "--run-dir", str(first.path), "--resume"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 2 and "already being trained" in second.stderr
    with pytest.raises(ValueError, match="still running"):
        jobs.delete(first)

    jobs.stop(first)  # running on a node: it checkpoints and ends `stopped`
    wait_until(lambda: state(first) == "stopped" and not first.is_locked(), timeout=120)
    assert first.has_checkpoint("last") and jobs.summarize(first).epochs_done < 20
    jobs.delete(first)
    assert not first.path.exists()

    # The node it freed takes the run next in line.
    wait_until(lambda: ray_info(waiting[1]).get("placed"), timeout=120)
    for run in (busy[1], waiting[1]):
        jobs.stop(run)
    for run in (busy[1], waiting[1]):
        wait_until(lambda run=run: not run.is_locked(), timeout=120)
        assert state(run) in ("stopped", "completed")


def worker_node(cluster, node_id: str):
    for node in cluster.worker_nodes:
        if node.node_id == node_id:
            return node
    raise AssertionError(f"no worker node {node_id}")


def test_a_killed_node_leaves_the_run_crashed_and_resume_finishes_it_exactly(
    runs_root: Path, cluster
) -> None:
    config = quick(seed=7, epochs=6, images=8_192)
    run = jobs.submit(config, runs_root)
    wait_until(lambda: (run.read_status().get("epoch") or 0) >= 2, timeout=300)
    node_id = ray_info(run)["node_id"]
    killed = time.monotonic()
    node = worker_node(cluster, node_id)
    os.kill(node.all_processes["raylet"][0].process.pid, signal.SIGKILL)
    wait_until(lambda: state(run) == "crashed", timeout=120)
    detected = time.monotonic() - killed
    message = run.read_status()["message"]
    assert "Ray node" in message and "resume" in message, message
    print(f"crash seen {detected:.1f} s after the raylet was killed: {message}")
    cluster.remove_node(node, allow_graceful=False)  # what is left of it, and its record
    cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)  # the class's next PC
    cluster.wait_for_nodes()

    jobs.resume(run)  # through Ray again ($CNN_RAY_ADDRESS)
    wait_until(lambda: state(run) == "completed", timeout=300)
    assert ray_info(run)["node_id"] != node_id
    here = train_here(config, runs_root.parent)
    assert same_weights(run.path, here)
    assert epochs_of(run.path) == epochs_of(here)


def test_folder_changes_arrive_in_order_and_appends_stay_appends(tmp_path: Path) -> None:
    node, head = tmp_path / "node", tmp_path / "head"
    node.mkdir()
    head.mkdir()
    (node / "metrics.jsonl").write_bytes(b'{"a": 1}\n')
    (node / "status.json").write_text('{"state": "running"}')
    (node / "epochs").mkdir()
    (node / "epochs" / "epoch-000.pt").write_bytes(b"w0")
    (node / ".last.pt.x.part").write_bytes(b"half")  # a write in progress: never sent
    (node / "run.lock").write_text("123")  # each side's own
    watch = FolderWatch(node)
    change = watch.changes()
    assert list(change["files"]) == ["epochs/epoch-000.pt", "metrics.jsonl", "status.json"]
    run = Run(head)
    apply_change(run, change)
    with open(node / "metrics.jsonl", "ab") as handle:
        handle.write(b'{"a": 2}\n')
    (node / "last.pt").write_bytes(b"ckpt")
    change = watch.changes()
    assert change["appends"] == {"metrics.jsonl": (9, b'{"a": 2}\n')}
    assert list(change["files"]) == ["last.pt"]
    apply_change(run, change)
    (node / "epochs" / "epoch-000.pt").unlink()
    apply_change(run, watch.changes())
    assert (head / "metrics.jsonl").read_bytes() == (node / "metrics.jsonl").read_bytes()
    assert (head / "last.pt").read_bytes() == b"ckpt"
    assert not (head / "epochs" / "epoch-000.pt").exists()
    assert not (head / "run.lock").exists() and not list(head.glob(".*part"))
    assert watch.changes() == {}
    assert RAY_FILE not in os.listdir(head)


def test_the_teacher_sees_the_machines_what_each_trains_and_the_queue(
    runs_root: Path, monkeypatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard.site import TRAINING

    monkeypatch.setenv("CNN_RUNS_DIR", str(runs_root))
    runs = [jobs.submit(quick(seed=s, epochs=20, images=16_384), runs_root) for s in (8, 9, 10)]
    try:
        for run in runs[:2]:
            wait_until(lambda run=run: ray_info(run).get("placed"), timeout=120)
        wait_until(lambda: "next in line" in (runs[2].read_status().get("message") or ""))
        app = AppTest.from_file(str(TRAINING.file), default_timeout=120)
        app.run()
        assert not app.exception
        assert any(e.label == f"Ray cluster at {os.environ[RAY_ADDRESS_ENV]}" for e in app.expander)
        table = next(df.value for df in app.dataframe if "machine" in df.value.columns)
        alive = table[table["state"] == "alive"]
        assert len(alive) == 3 and sorted(alive["CPUs"]) == ["0", "1", "1"]  # head + two PCs
        trained = set(", ".join(alive["training"]).split(", ")) - {"-"}
        assert trained == {runs[0].id, runs[1].id}
        texts = " ".join(m.value for m in app.markdown).replace("\\", "")  # plain()'s escapes
        assert f"{runs[2].id}" in texts
        assert "queued on Ray: waiting for 1 CPU, next in line" in texts
    finally:
        for run in runs:
            jobs.stop(run)
        for run in runs:
            wait_until(lambda run=run: not run.is_locked(), timeout=120)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"epochs": 1, "train_subset": 4_096},
        {"epochs": 8},
        {"epochs": 7},
        {"workers": 3},
        {"workers": 4, "batch_size": 2},
        {"epochs": 1, "validation_size": 30_000},
        {"device": "cuda"},
    ],
)
def test_the_resources_asked_for_are_the_workers_the_trainer_would_use(
    settings: dict, monkeypatch
) -> None:
    """ray_jobs reads them from config.json without torch; they must be core.training.config's
    on a node with AUTO_MAX_WORKERS cores or more."""
    from dataclasses import asdict

    from core.training import config as training_config
    from core.training import ray_jobs

    assert ray_jobs.AUTO_MAX_WORKERS == training_config.AUTO_MAX_WORKERS
    assert ray_jobs.AUTO_MIN_IMAGES == training_config.AUTO_MIN_IMAGES
    monkeypatch.setattr(training_config, "available_cores", lambda: 16)
    config = TrainConfig(**settings)
    cpus, gpus = ray_jobs.resources_for(json.loads(json.dumps(asdict(config))))
    if config.device == "cuda":
        assert (cpus, gpus) == (1, 1)
        return
    images = config.epochs * config.train_images
    expected = training_config.resolve_workers(
        config.workers, torch.device("cpu"), config.batch_size, images
    )
    assert (cpus, gpus) == (expected, 0)
