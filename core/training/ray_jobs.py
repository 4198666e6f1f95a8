"""Training runs on a Ray cluster, when a teacher gives its address (`--ray ADDRESS`, `auto`,
or $CNN_RAY_ADDRESS); without one nothing here is imported and runs train as local jobs.

    drive(run, lock, address)   # this process queues the run on Ray and mirrors it, to its end

Why Ray: a run is a stateful, long, resource-shaped piece of Python (N CPUs, or a GPU) that
must stream its progress back and be stoppable midway. Ray schedules exactly that (an actor
with `num_cpus`/`num_gpus`, placed by Ray's scheduler on any node that has them), streams
results from a generator method, reports a dead node as `ActorDiedError` within its health
check, and a lab PC joins with one command (`ray start --address=HEAD:6379`). Dask is built for
task graphs over data, not long stateful jobs with a resource request; Celery needs a broker and
knows nothing of CPUs or GPUs; Slurm (through submitit) needs a Slurm cluster, which a lab of
PCs does not have.

The run folder stays the contract, and lives on the head only: no shared file system. The job
process on the head (core/training/jobs.py `work`, or the command line) keeps holding the run's
lock, so crash detection, "a second trainer is refused" and Stop work as they do locally. It
creates one actor for the run (`_RemoteTrainer`, `num_cpus` = the run's workers, `num_gpus=1`
for a run on CUDA), sends it the run's folder and the MNIST files, and the actor trains it with
the very command a local job runs (`python -m core.training --run-dir ... --resume`, a real
subprocess in a temporary folder on its node). Every half second the actor streams back what
changed in that folder (checkpoints first, then the appended metrics, then the status and the
heartbeat, so the head never holds a checkpoint newer than its metrics), and this process
writes it into the head's folder, atomically. The pages read that folder as always.

Stop is the head's `stop.request`: forwarded to the actor, which writes it into its folder,
where the trainer reads it every batch. A node that dies mid-run ends the stream with Ray's
error (Ray's health check: about 15-30 s); the run is then written `crashed`, naming the node,
and resumes from its last checkpoint, through Ray again. If this process dies, the lock goes
with it (`crashed`, as locally) and Ray ends the actor it owned.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.files import atomic_write, atomic_write_json
from core.runs.store import (
    HEARTBEAT_FILE,
    LOCK_FILE,
    LOG_FILE,
    STOP_FILE,
    Run,
    read_json,
)

RAY_ADDRESS_ENV = "CNN_RAY_ADDRESS"
CPUS_ENV = "CNN_CPUS"  # cores the trainer may use (core/training/config.py available_cores)
NAMESPACE = "cnn-explainer"
RAY_FILE = "ray.json"  # the run on Ray: address, submitted, placed, node (the head's own)
SYNC_SECONDS = 0.5
# Never sent either way: the lock and its holder are each side's own, the log is appended to,
# the job file and the stop request belong to the head.
HEAD_ONLY = {LOCK_FILE, LOG_FILE, "job.json", RAY_FILE, STOP_FILE, "config.json"}
APPENDED = ("metrics.jsonl",)
# The order a change is read in on the node and written on the head: checkpoints before the
# metrics that describe them, the status and the heartbeat last.
LAST = ("test.json", "metrics.jsonl", "status.json", HEARTBEAT_FILE)


def ray_address(given: str | None = None) -> str | None:
    """The cluster to train on: `given` (--ray), else $CNN_RAY_ADDRESS; None = train locally."""
    address = (given or os.environ.get(RAY_ADDRESS_ENV) or "").strip()
    return address or None


# ------------------------------------------------------------------ a folder, as changes


def _ordered(names: list[str]) -> list[str]:
    return sorted(names, key=lambda name: (LAST.index(name) if name in LAST else -1, name))


class FolderWatch:
    """What changed in a run folder since the last look: whole files, bytes appended to the
    metrics, and files removed. Partial files (`.name.*.part`) and HEAD_ONLY are skipped."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.seen: dict[str, tuple[int, int]] = {}

    def _files(self) -> list[str]:
        names = []
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and rel not in HEAD_ONLY and not path.name.startswith("."):
                names.append(rel)
        return _ordered(names)

    def prime(self) -> None:
        """Everything there now counts as seen (the node's copy of what the head sent)."""
        self.changes()

    def changes(self) -> dict:
        files: dict[str, bytes] = {}
        appends: dict[str, tuple[int, bytes]] = {}
        present = self._files()
        for rel in present:
            path = self.root / rel
            try:
                stat = path.stat()
                key = (stat.st_size, stat.st_mtime_ns)
                if self.seen.get(rel) == key:
                    continue
                old = self.seen.get(rel)
                if rel in APPENDED and old is not None and stat.st_size >= old[0]:
                    with open(path, "rb") as handle:
                        handle.seek(old[0])
                        appends[rel] = (old[0], handle.read(stat.st_size - old[0]))
                else:  # an appended file is read only as far as the size it was seen at
                    data = path.read_bytes()
                    files[rel] = data[: stat.st_size] if rel in APPENDED else data
                self.seen[rel] = key
            except FileNotFoundError:  # replaced or removed between the listing and now
                continue
        removed = [rel for rel in self.seen if rel not in present]
        for rel in removed:
            del self.seen[rel]
        change = {}
        if files:
            change["files"] = files
        if appends:
            change["appends"] = appends
        if removed:
            change["removed"] = removed
        return change


def folder_files(run: Run) -> dict[str, bytes]:
    """The run's folder as the node needs it to resume (checkpoints, metrics, status)."""
    watch = FolderWatch(run.path)
    files = dict(watch.changes().get("files", {}))
    files["config.json"] = run.config_path.read_bytes()
    return files


def apply_change(run: Run, change: dict) -> None:
    """Write a node's change into the head's folder: whole files atomically, appends at the
    offset the node had (truncating first when the head's copy is longer)."""
    for rel, data in change.get("files", {}).items():
        if rel not in HEAD_ONLY:
            atomic_write(run.path / rel, data)
    for rel, (offset, data) in change.get("appends", {}).items():
        path = run.path / rel
        with open(path, "r+b" if path.exists() else "wb") as handle:
            handle.truncate(offset)
            handle.seek(offset)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    for rel in change.get("removed", []):
        if rel not in HEAD_ONLY:
            (run.path / rel).unlink(missing_ok=True)


# ------------------------------------------------------------------ on the node


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """The trainer ends if the actor's process does (a node's raylet killed, say)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def node_data_dir() -> Path:
    """Where a node keeps its copy of MNIST (sent by the head the first time it lacks one)."""
    return Path(tempfile.gettempdir()) / "cnn-explainer-ray" / "data"


class RemoteTrainer:
    """One run's trainer on a node (made a Ray actor by `_actor_class`): `train` streams the
    folder's changes; `stop` asks the trainer to stop after its batch."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.stop_asked = False

    def where(self) -> dict:
        import ray

        context = ray.get_runtime_context()
        return {
            "node_id": context.get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),
            "pid": os.getpid(),
            "gpus": [str(gpu) for gpu in ray.get_gpu_ids()],
        }

    def has_mnist(self) -> bool:
        from core.model import mnist

        return all(check.ok for check in mnist.verify(node_data_dir()))

    def put_mnist(self, files: dict[str, bytes]) -> None:
        from core.model import mnist

        for name, data in files.items():
            atomic_write(mnist.raw_dir(node_data_dir()) / name, data)

    def stop(self) -> None:
        self.stop_asked = True
        if self.folder is not None:
            atomic_write(self.folder / STOP_FILE, b"stop\n")

    def train(self, run_id: str, files: dict[str, bytes], cpus: int):
        import core

        scratch = Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=_scratch_root()))
        folder = scratch / run_id
        folder.mkdir()
        for rel, data in files.items():
            atomic_write(folder / rel, data)
        config = json.loads(files["config.json"])
        config["data_dir"] = None  # the node's copy, below
        atomic_write_json(folder / "config.json", config)
        self.folder = folder
        if self.stop_asked:
            self.stop()
        watch = FolderWatch(folder)
        watch.prime()
        env = {key: value for key, value in os.environ.items() if key != RAY_ADDRESS_ENV}
        env.update(
            {
                "MNIST_DATA_DIR": str(node_data_dir()),
                CPUS_ENV: str(cpus),
                "PYTHONPATH": str(Path(core.__file__).resolve().parents[1]),
            }
        )
        env.pop("CNN_RUN_LOCK_FD", None)
        log = open(folder.parent / LOG_FILE, "ab")  # noqa: SIM115 - closed below
        command = [sys.executable, "-m", "core.training", "--run-dir", str(folder), "--resume"]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,
        )
        sent = 0
        try:
            while True:
                done = process.poll() is not None
                change = watch.changes()
                log.flush()
                output = (folder.parent / LOG_FILE).read_bytes()
                if len(output) > sent:
                    change["log"] = output[sent:]
                    sent = len(output)
                if change:
                    yield change
                if done:
                    break
                time.sleep(SYNC_SECONDS)
            yield {"exit_code": process.returncode}
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
            shutil.rmtree(scratch, ignore_errors=True)


def _scratch_root() -> Path:
    root = Path(tempfile.gettempdir()) / "cnn-explainer-ray" / "runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _actor_class():
    import ray

    return ray.remote(max_concurrency=2)(RemoteTrainer)


# ------------------------------------------------------------------ on the head


def connect(address: str) -> None:
    """Join the cluster as a driver, shipping the `core` package to its nodes (they need
    Python with requirements.txt and ray, not this repository)."""
    import ray

    import core

    global _dashboard_url
    if ray.is_initialized():
        return
    context = ray.init(
        address=address,
        namespace=NAMESPACE,
        runtime_env={"py_modules": [str(Path(core.__file__).resolve().parent)]},
        log_to_driver=False,
        logging_level="ERROR",
        configure_logging=True,
    )
    _dashboard_url = getattr(context, "dashboard_url", None) or None


_dashboard_url: str | None = None


def cluster_nodes() -> list[dict]:
    """The cluster's nodes: id, address, alive, CPUs and GPUs (after `connect`)."""
    import ray

    nodes = []
    for node in ray.nodes():
        resources = node.get("Resources", {})
        nodes.append(
            {
                "node_id": node["NodeID"],
                "node_ip": node.get("NodeManagerAddress"),
                "alive": bool(node.get("Alive")),
                "cpus": resources.get("CPU", 0.0),
                "gpus": resources.get("GPU", 0.0),
            }
        )
    return nodes


# core.training.config's AUTO_MAX_WORKERS and AUTO_MIN_IMAGES, and TrainConfig.train_images,
# read from the saved dict: the job process on the head stays free of torch (it only moves
# bytes; ~0.5 GB less per queued run). tests/core/training/test_ray_jobs.py pins them equal.
AUTO_MAX_WORKERS = 2
AUTO_MIN_IMAGES = 8 * 58_976


def resources_for(config: dict) -> tuple[int, int]:
    """(CPUs, GPUs) the run asks Ray for: its workers (auto: as core.training.config decides
    for a CPU with AUTO_MAX_WORKERS cores) and one GPU when it asks for CUDA. `config` is a
    run's checked config.json."""
    from core.model.mnist import TRAIN_SIZE, VALIDATION_SIZE

    if str(config.get("device", "auto")).startswith("cuda"):
        return 1, 1
    workers = config.get("workers")
    if workers is None:
        available = TRAIN_SIZE - config.get("validation_size", VALIDATION_SIZE)
        subset = config.get("train_subset")
        images = min(subset, available) if subset else available
        long = config.get("epochs", 20) * images >= AUTO_MIN_IMAGES
        workers = AUTO_MAX_WORKERS if long else 1
    return max(1, min(workers, config.get("batch_size", 64))), 0


def ray_info(run: Run) -> dict:
    try:
        info = read_json(run.path / RAY_FILE)
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _update_ray_info(run: Run, **fields) -> None:
    atomic_write_json(run.path / RAY_FILE, {**ray_info(run), **fields})


def ahead_in_queue(run: Run, queue: Callable[[], list[Run]] | None) -> tuple[int, int]:
    """(runs before this one in the class's queue that are not yet handed to Ray, and that
    Ray has not placed yet). `queue`: the live queued runs in turn order (jobs.queue_order,
    round robin over students); without it (one run from the command line), only the runs
    on Ray submitted before this one count."""
    if queue is None:
        mine = ray_info(run).get("submitted") or time.time()
        others = [Run(path) for path in run.path.parent.iterdir() if path != run.path]
        before = [o for o in others if (ray_info(o).get("submitted") or mine) < mine]
        before = [o for o in before if o.is_locked()]
    else:
        order = queue()
        paths = [other.path for other in order]
        before = order[: paths.index(run.path)] if run.path in paths else []
    infos = [ray_info(other) for other in before]
    infos = [info for info in infos if info.get("engine") == "ray"]
    return (
        sum(1 for info in infos if not info.get("submitted")),
        sum(1 for info in infos if not info.get("placed")),
    )


def _send_mnist(actor, config: dict) -> None:
    """Give the actor's node MNIST (the head's verified files) unless it has it already."""
    import ray

    from core.model import mnist

    if ray.get(actor.has_mnist.remote()):
        return
    checks = mnist.verify(config.get("data_dir"))
    bad = [check.line() for check in checks if not check.ok]
    if bad:
        raise mnist.MnistError(
            "MNIST is not ready on this machine, to send to the Ray node: "
            + "; ".join(bad)
            + ". Run `python -m core.model.mnist fetch`"
        )
    ray.get(actor.put_mnist.remote({c.file.name: c.path.read_bytes() for c in checks}))


def drive(
    run: Run,
    address: str,
    echo: bool = False,
    queue: Callable[[], list[Run]] | None = None,
) -> int:
    """Train the run on the Ray cluster at `address`, mirroring its folder here, to its end.
    The caller holds the run's lock for as long as this runs. Runs are handed to Ray in the
    order of `queue` (see `ahead_in_queue`), each once the runs before it are placed, so the
    class's turns hold.
    Returns 0 when the run ended completed or stopped, 1 otherwise."""
    _update_ray_info(run, engine="ray", address=address, submitted=None, placed=None)
    status = run.read_status()
    queued_at = status.get("queued_at", time.time())
    config = json.loads(run.config_path.read_text())
    cpus, gpus = resources_for(config)
    asked = f"{cpus} CPU{'s' if cpus > 1 else ''}" + (" and 1 GPU" if gpus else "")
    run.write_status("queued", f"queued on Ray: connecting to {address}", queued_at=queued_at)
    try:
        import ray

        connect(address)
    except Exception as error:  # noqa: BLE001 - any failure to start is the run's message
        return _end(run, "failed", f"could not queue it on Ray at {address}: {error}", echo)
    fits = [n for n in cluster_nodes() if n["alive"] and n["cpus"] >= cpus and n["gpus"] >= gpus]
    if not fits:
        largest = max((n["cpus"] for n in cluster_nodes() if n["alive"]), default=0)
        return _end(
            run,
            "failed",
            f"no machine in the Ray cluster has {asked} (the largest has {largest:g} CPUs):"
            " resume it with fewer workers, or add a machine",
            echo,
        )
    # Handed to Ray once every run before it has been placed: Ray places pending actors in no
    # strict order (a later one went first in a test), so at most one run of the class waits
    # in Ray's own queue, and the turns hold exactly.
    while (ahead := ahead_in_queue(run, queue))[1]:
        if run.stop_requested():
            run.clear_stop_request()
            return _end(run, "stopped", "stopped while queued on Ray; resume to start it", echo)
        _queued_message(run, f"queued on Ray: {_runs(ahead[1])} ahead", queued_at)
        time.sleep(0.2)
    _update_ray_info(run, submitted=time.time())
    actor = _actor_class().options(num_cpus=cpus, num_gpus=gpus).remote()
    where_ref = actor.where.remote()
    while True:  # queued on Ray until its scheduler places the actor
        if run.stop_requested():
            ray.kill(actor)
            run.clear_stop_request()
            return _end(run, "stopped", "stopped while queued on Ray; resume to start it", echo)
        ready, _ = ray.wait([where_ref], timeout=1.0)
        if ready:
            break
        ahead = ahead_in_queue(run, queue)[1]
        place = f", {_runs(ahead)} ahead" if ahead else ", next in line"
        _queued_message(run, f"queued on Ray: waiting for {asked}{place}", queued_at)
    try:
        where = ray.get(where_ref)
        _send_mnist(actor, config)
    except ray.exceptions.RayError as error:
        return _end(run, "crashed", f"Ray could not start its trainer: {_reason(error)}", echo)
    except Exception as error:  # noqa: BLE001 - MNIST missing here, say
        ray.kill(actor)
        return _end(run, "failed", str(error), echo)
    _update_ray_info(run, placed=time.time(), **where)
    node = where["node_ip"]
    if echo:
        print(f"training on Ray node {node} ({where['node_id'][:8]}), {asked}", flush=True)
    stopper = threading.Thread(target=_forward_stop, args=(run, actor), daemon=True)
    stopper.start()
    exit_code = None
    try:
        stream = actor.train.options(num_returns="streaming").remote(
            run.id, folder_files(run), cpus
        )
        for ref in stream:
            change = ray.get(ref)
            if "exit_code" in change:
                exit_code = change["exit_code"]
                break
            apply_change(run, change)
            if change.get("log"):
                sys.stdout.buffer.write(change["log"])
                sys.stdout.flush()
    except ray.exceptions.RayError as error:
        epoch = _checkpoint_epoch(run)
        return _end(
            run,
            "crashed",
            f"the Ray node that trained it ({node}) stopped: {_reason(error)};"
            + (f" resume continues from epoch {epoch}'s checkpoint" if epoch else " resume it"),
            echo,
        )
    state = run.read_status().get("state")
    if state in ("queued", "running"):
        return _end(
            run,
            "crashed",
            f"the trainer on Ray node {node} ended with exit code {exit_code} before finishing"
            " (its output is in the log); resume continues from its last checkpoint",
            echo,
        )
    return 0 if state in ("completed", "stopped") else 1


def _runs(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def _queued_message(run: Run, message: str, queued_at: float) -> None:
    if run.read_status().get("message") != message:
        run.write_status("queued", message, queued_at=queued_at)


def _forward_stop(run: Run, actor) -> None:
    while not run.stop_requested():
        time.sleep(SYNC_SECONDS)
    actor.stop.remote()


def _checkpoint_epoch(run: Run) -> int | None:
    epoch = run.read_status().get("epoch")
    return epoch if isinstance(epoch, int) and epoch > 0 else None


def _reason(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines()] or [""]
    first = next((line for line in lines if "node has died" in line), lines[0])
    first = first.split(" Node Id:")[0].split(". ")[0]
    if len(first) > 100:
        first = first[:99] + "…"
    return f"{type(error).__name__}: {first}"


def _end(run: Run, state: str, message: str, echo: bool) -> int:
    run.write_status(state, message)
    if echo or state != "completed":
        print(f"{state}: {message}", file=sys.stderr if state != "stopped" else sys.stdout)
    return 0 if state == "stopped" else 1


# ------------------------------------------------------------------ the teacher's view


def describe_cluster(address: str) -> dict:
    """Nodes and Ray's dashboard address, for the training page (run in a child process:
    `python -m core.training.ray_jobs nodes ADDRESS`, so the server never imports Ray)."""
    connect(address)
    url = _dashboard_url
    if url and not url.startswith("http"):
        url = f"http://{url}"
    return {"nodes": cluster_nodes(), "dashboard": url}


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m core.training.ray_jobs")
    commands = parser.add_subparsers(dest="command", required=True)
    nodes = commands.add_parser("nodes", help="the cluster's nodes, as JSON")
    nodes.add_argument("address")
    args = parser.parse_args(argv)
    if args.command == "nodes":
        print(json.dumps(describe_cluster(args.address)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
