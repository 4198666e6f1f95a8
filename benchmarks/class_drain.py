"""How long a class takes to drain: N students each submit the quick run (with --recipe, the
lecture's full recipe), and the whole class's time to finish is measured on the local queue
(one slot, as today) and on a real 2-node Ray cluster on this machine (ray.cluster_utils.
Cluster, one CPU a node, a head that trains nothing), in the same process, one after the other.

    python benchmarks/class_drain.py [--students 6] [--images 4096] [--recipe]

On 2 cores both engines have the same two cores, so the point is what the Ray path costs:
the ratio Ray / local. Each run's own seconds (queued -> completed) and the driver processes'
memory on the head are printed too. With K machines of c cores each, the local queue's time
stays N x t (one slot); Ray's is about ceil(N / (K x floor(c / w))) x t' for runs of w workers,
where t' is one run's time on one such machine plus Ray's start-up per run (measured below).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.runs.store import Run  # noqa: E402
from core.training import jobs  # noqa: E402
from core.training.config import TrainConfig  # noqa: E402
from core.training.ray_jobs import RAY_ADDRESS_ENV  # noqa: E402


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def drain(configs: list[TrainConfig], label: str) -> tuple[float, list[float], float]:
    root = Path(tempfile.mkdtemp(prefix=f"drain-{label}-"))
    start = time.monotonic()
    runs = [
        jobs.submit(config, root, owner=f"student{i}", limit=1) for i, config in enumerate(configs)
    ]
    peak_mb = 0.0
    while True:
        states = [jobs.job_state(run)["state"] for run in runs]
        pids = [info["pid"] for run in runs if (info := jobs.job_info(run))]
        peak_mb = max(peak_mb, sum(rss_mb(pid) for pid in pids))
        if all(state not in ("queued", "running", "stalled") for state in states):
            break
        time.sleep(0.5)
    total = time.monotonic() - start
    bad = [f"{run.id}: {s}" for run, s in zip(runs, states, strict=True) if s != "completed"]
    if bad:
        raise SystemExit(f"{label}: not every run completed: {bad}")
    each = []  # one run's own time: its first logged batch to its end
    for run in runs:
        first = Run(run.path).read_metrics()[0]["time"]
        each.append(Run(run.path).read_status()["updated"] - first)
    return total, each, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--images", type=int, default=4_096, help="the quick run's images")
    parser.add_argument("--recipe", action="store_true", help="the lecture's full recipe")
    args = parser.parse_args()
    if args.recipe:
        config = dict(workers=1)
    else:
        config = dict(epochs=1, train_subset=args.images, workers=1)
    configs = [TrainConfig(seed=i, **config) for i in range(args.students)]
    print(f"{args.students} students, each: {config}; CPU: {os.cpu_count()} cores")

    os.environ.pop(RAY_ADDRESS_ENV, None)
    local, local_each, local_mb = drain(configs, "local")
    print(
        f"local queue (1 slot):   {local:7.1f} s for the class;"
        f" per run {statistics.median(local_each):.1f} s"
    )

    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": 80 * 2**20,
            "include_dashboard": False,
        },
    )
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    cluster.wait_for_nodes()
    os.environ[RAY_ADDRESS_ENV] = cluster.address
    try:
        ray_total, ray_each, ray_mb = drain(configs, "ray")
    finally:
        os.environ.pop(RAY_ADDRESS_ENV, None)
        cluster.shutdown()
    print(
        f"Ray, 2 nodes x 1 CPU:   {ray_total:7.1f} s for the class; per run"
        f" {statistics.median(ray_each):.1f} s"
    )
    print(f"ratio Ray / local: {ray_total / local:.2f}")
    print(
        f"job processes' memory on the head at the peak: local {local_mb:,.0f} MB,"
        f" Ray drivers {ray_mb:,.0f} MB ({ray_mb / max(1, args.students):,.0f} MB a run)"
    )


if __name__ == "__main__":
    main()
