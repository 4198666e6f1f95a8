"""Data-parallel training on the CPU's cores: the same SGD step, computed by several processes.

    trainer = Trainer(TrainConfig(workers=2))   # core/training/loop.py starts and ends the workers
    trainer.fit()

Each worker computes the gradient of its share of every batch (64 images: 32 each on two
cores), the shares are summed through shared memory (`SharedSum`), and every worker takes the
same SGD step, so the weights stay the same everywhere. Everything else between the workers
(forming the group, syncing weights, the validation and test passes) is torch.distributed
with gloo over 127.0.0.1; its all_reduce took 1.1-1.6 ms for one step's 247 KB here (0.5 ms
for 2 floats: a TCP hop and thread hand-offs per message), a third of a step's compute, so
the per-step sum does not go through it. A share's loss is its
summed cross-entropy divided by the whole batch's size, so the sum is the single process's
mean-loss gradient up to float rounding, for a last, smaller batch too.

Worker 0 is the trainer itself: it holds the run's lock and writes everything in the run folder.
The others are child processes it spawns (`WorkerGroup.start`) that only compute. What they do
next (an epoch from batch b, a validation or test pass, exit) comes over a pipe; within an epoch
they need no message, because the data order and the shifts depend only on (seed, epoch), and
two numbers ride along in every step's sum: the batch loss and "worker 0 stopped".

A worker that dies ends the run, never hangs it: worker 0, waiting for a share, looks at its
children every PEER_CHECK_SECONDS, and gloo fails a collective at once when a peer's socket
closes (a hung peer fails either after COLLECTIVE_TIMEOUT); worker 0 raises WorkerLostError
naming who died and how; a child exits as soon as worker 0 is gone (it watches its parent), so
killing worker 0 leaves no orphans, and the kernel drops the run's lock as it always did.
"""

from __future__ import annotations

import datetime
import math
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
import torch.multiprocessing as torch_mp  # registers the shared-memory pickling of tensors
import torch.nn.functional as F

from core.training.config import TrainConfig
from core.training.steps import (
    WorkerLostError,
    build_model,
    epoch_order,
    epoch_shifts,
    evaluate,
    learning_rate,
    scheduled,
    set_learning_rate,
    shift_images,
)

if TYPE_CHECKING:  # for the hints only: the loop imports this module, never the reverse
    from core.training.loop import Trainer

HOST = "127.0.0.1"
# A dead peer fails a collective at once (its socket closes); this bounds a hung one (stopped,
# swapping). The children wait for worker 0 inside a step's all_reduce while it logs a batch,
# which takes milliseconds: two minutes is never a normal wait.
COLLECTIVE_TIMEOUT = datetime.timedelta(seconds=120)
# Starting a child is a Python that imports torch: about 2 s on an idle machine.
STARTUP_SECONDS = 300.0
EXIT_SECONDS = 5.0
SPLITS = ("val", "test")
# Waiting for the other shares: spin this long (the peer is on another core and usually a few
# microseconds away), then sleep in short naps; check that the peers live this often.
SPIN_SECONDS = 0.002
NAP_SECONDS = 0.0002
PEER_CHECK_SECONDS = 0.05


def batch_shares(size: int, world: int) -> list[tuple[int, int]]:
    """[(start, end)] of each worker's share of `size` items: as even as can be, the first
    ones one larger when it does not divide (an empty share is possible, and harmless)."""
    base, extra = divmod(size, world)
    shares, start = [], 0
    for rank in range(world):
        end = start + base + (1 if rank < extra else 0)
        shares.append((start, end))
        start = end
    return shares


class SharedSum:
    """The sum of every worker's flat buffer, each step, through shared memory.

    Two buffers of [world, size] floats alternate by step: worker r copies its buffer into row r
    of this step's, publishes the step number, waits until every worker has published it, and
    sums the rows in rank order, so every worker gets the same floats. A worker can only reach
    step k + 2 (and overwrite step k's rows) after everyone has published k + 1, that is after
    they all finished reading k. A process-shared lock around each publication orders the rows
    before the step number on any CPU, not only on x86's ordered stores.

    Measured on the 2-core machine, in a 2-worker epoch: 0.14-0.18 ms a step, waiting for the
    slower worker included, against 1.1-1.6 ms for gloo's all_reduce of the same floats."""

    def __init__(self, rows: torch.Tensor, published: torch.Tensor, lock, rank: int) -> None:
        self.rows, self.published, self.lock, self.rank = rows, published, lock, rank
        self.seen = published.numpy()  # reading it is one memory read, no torch call
        self.step = 0
        self.peers_alive: Callable[[], bool] = lambda: True

    @staticmethod
    def allocate(world: int, size: int):
        """(rows, published, lock) for `world` workers' buffers of `size` floats, shared."""
        rows = torch.zeros(2, world, size).share_memory_()
        published = torch.zeros(world, dtype=torch.int64).share_memory_()
        return rows, published, torch_mp.get_context("spawn").Lock()

    def all_reduce(self, flat: torch.Tensor) -> None:
        self.step += 1
        rows = self.rows[self.step % 2]
        rows[self.rank].copy_(flat)
        with self.lock:
            self.seen[self.rank] = self.step
        self.wait_for(self.step)
        with self.lock:
            pass  # the others' rows, published before their step number, are visible now
        torch.sum(rows, dim=0, out=flat)

    def wait_for(self, step: int) -> None:
        seen = self.seen
        if seen.min() >= step:
            return
        started = time.monotonic()
        checked = started
        while seen.min() < step:
            now = time.monotonic()
            if now - started < SPIN_SECONDS:
                continue
            if now - checked > PEER_CHECK_SECONDS:
                checked = now
                if not self.peers_alive():
                    raise RuntimeError("a worker ended while the others waited for its share")
                if now - started > COLLECTIVE_TIMEOUT.total_seconds():
                    raise RuntimeError("a worker's share did not come")
            time.sleep(NAP_SECONDS)


class ShardedStep:
    """What every worker does each step: its share's gradient, the sum, the SGD step.

    The gradients are views into one flat buffer (plus two slots: the loss and the stop flag),
    so the whole exchange is a single sum of 61,706 + 2 floats for LeNet-5."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        train_x: torch.Tensor,
        train_y: torch.Tensor,
        memory_format: torch.memory_format,
        shared: SharedSum,
        smoothing: float = 0.0,
    ) -> None:
        self.model, self.optimizer, self.shared = model, optimizer, shared
        self.smoothing = smoothing  # the run's label smoothing
        self.train_x, self.train_y, self.memory_format = train_x, train_y, memory_format
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.params = [p for p in model.parameters() if p.requires_grad]
        sizes = [p.numel() for p in self.params]
        self.flat = torch.zeros(sum(sizes) + 2)
        self.loss_slot, self.stop_slot = len(self.flat) - 2, len(self.flat) - 1
        offset = 0
        for param, size in zip(self.params, sizes, strict=True):
            # The parameter's own strides (channels_last for the convolutions), so that
            # autograd accumulates into the view in place, without a copy.
            param.grad = self.flat.as_strided(param.shape, param.stride(), offset)
            offset += size

    def step(
        self,
        order: torch.Tensor,
        shifts: torch.Tensor | None,
        start: int,
        size: int,
        stop: bool = False,
        lr: float | None = None,
    ) -> tuple[float, bool]:
        """One SGD step on this worker's share of the batch order[start : start + size].

        Returns (the whole batch's mean loss, stopped): stopped means worker 0 ended the run
        before this step, which is then not taken. `stop=True` is worker 0 saying so."""
        self.flat.zero_()  # the gradients too: they are views into it
        low, high = batch_shares(size, self.world)[self.rank]
        if high > low and not stop:
            chosen = order[start + low : start + high]
            x = self.train_x[chosen]
            if shifts is not None:
                x = shift_images(x, shifts[start + low : start + high])
            x = x.contiguous(memory_format=self.memory_format)
            # Summed over the share, divided by the whole batch: the shares add up to the mean.
            targets = self.train_y[chosen]
            loss = (
                F.cross_entropy(
                    self.model(x), targets, reduction="sum", label_smoothing=self.smoothing
                )
                / size
            )
            loss.backward()  # accumulates into the views of self.flat
            self.flat[self.loss_slot] = loss.detach()
        if stop:
            self.flat[self.stop_slot] = 1.0
        self.shared.all_reduce(self.flat)
        loss_sum, stopped = self.flat[self.loss_slot :].tolist()
        if stopped > 0:
            return math.nan, True
        if lr is not None:  # the schedule's rate of this step (steps.learning_rate)
            set_learning_rate(self.optimizer, lr)
        self.optimizer.step()
        return loss_sum, False

    def sync_from_worker_0(self, momentum: bool) -> None:
        """Everyone takes worker 0's weights (and momentum buffers): after a resume, or its
        best epoch's weights before the test. Each step keeps them equal after that."""
        state = self.optimizer.state
        tensors = [p.data for p in self.params]
        if momentum:
            for param in self.params:
                if state[param].get("momentum_buffer") is None:
                    state[param]["momentum_buffer"] = torch.zeros_like(param)
            tensors += [state[p]["momentum_buffer"] for p in self.params]
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.broadcast(flat, src=0)
        offset = 0
        for tensor in tensors:
            tensor.copy_(flat[offset : offset + tensor.numel()].view_as(tensor))
            offset += tensor.numel()

    def evaluate(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, float, torch.Tensor]:
        """core.training.steps.evaluate with each worker taking a share of the images: the same mean
        loss, error rate and probabilities (worker 0's copy is the whole)."""
        shares = batch_shares(len(labels), self.world)
        low, high = shares[self.rank]
        longest = max(end - begin for begin, end in shares)
        mine = torch.zeros(longest, 10)
        loss_sum = torch.zeros(1, dtype=torch.float64)
        if high > low:
            cpu = torch.device("cpu")
            loss, _, probabilities = evaluate(self.model, images[low:high], labels[low:high], cpu)
            mine[: high - low] = probabilities
            loss_sum[0] = loss * (high - low)
        gathered = [torch.empty_like(mine) for _ in range(self.world)]
        dist.all_gather(gathered, mine)
        dist.all_reduce(loss_sum)
        probabilities = torch.cat(
            [g[: end - begin] for g, (begin, end) in zip(gathered, shares, strict=True)]
        )
        errors = (probabilities.argmax(dim=1) != labels).sum().item()
        return loss_sum.item() / len(labels), errors / len(labels), probabilities


def join_group(store: dist.Store, rank: int, world: int) -> None:
    options = dist.ProcessGroupGloo._Options()
    options._devices = [dist.ProcessGroupGloo.create_device(hostname=HOST)]
    options._timeout = COLLECTIVE_TIMEOUT
    dist.init_process_group(
        "gloo",
        store=store,
        rank=rank,
        world_size=world,
        timeout=COLLECTIVE_TIMEOUT,
        pg_options=options,
    )


def how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"was killed ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"was killed (signal {-exitcode})"
    return f"exited with status {exitcode}"


class WorkerGroup:
    """Worker 0's side: starts the other workers, tells them what to do, ends them."""

    def __init__(self, trainer: Trainer, processes: list, pipes: list, store: dist.Store) -> None:
        self.trainer = trainer
        self.processes, self.pipes, self.store = processes, pipes, store
        self.world = trainer.workers
        self.sharded: ShardedStep | None = None

    @classmethod
    def start(cls, trainer: Trainer, threads: int) -> WorkerGroup:
        """Spawn trainer.workers - 1 children, wait until they are up, form the group."""
        world = trainer.workers
        store = dist.TCPStore(
            HOST,
            0,
            world,
            is_master=True,
            timeout=datetime.timedelta(seconds=STARTUP_SECONDS),
            wait_for_workers=False,  # they join once started: see wait_until_ready
        )
        context = torch_mp.get_context("spawn")
        data = (
            trainer.train_x,
            trainer.train_y,
            trainer.splits.val_images,
            trainer.splits.val_labels,
            trainer.splits.test_images,
            trainer.splits.test_labels,
        )
        config = asdict(trainer.config)
        size = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad) + 2
        shared = SharedSum.allocate(world, size)
        processes, pipes = [], []
        # A terminal's Ctrl-C reaches the whole process group; the children must leave the
        # decision to worker 0. Blocked here, the signal stays blocked in the child until it
        # has set it to be ignored: no moment where it could kill one.
        quiet = {signal.SIGINT, signal.SIGTERM}
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, quiet)
        group = cls(trainer, processes, pipes, store)
        try:
            for rank in range(1, world):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=worker_main,
                    args=(rank, world, store.port, config, data, shared, theirs, threads),
                    name=f"cnn-worker-{rank}",
                    daemon=True,
                )
                process.start()
                theirs.close()
                processes.append(process)
                pipes.append(ours)
        except BaseException:
            group.close(graceful=False)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        try:
            group.wait_until_ready()
            join_group(store, 0, world)
            summed = SharedSum(*shared, rank=0)
            summed.peers_alive = lambda: all(process.is_alive() for process in processes)
            group.sharded = ShardedStep(
                trainer.model,
                trainer.optimizer,
                trainer.train_x,
                trainer.train_y,
                trainer.memory_format,
                summed,
                trainer.config.label_smoothing,
            )
        except BaseException:
            group.close(graceful=False)
            raise
        return group

    def wait_until_ready(self) -> None:
        waiting = dict(zip(self.pipes, self.processes, strict=True))
        sentinels = {p.sentinel: p for p in self.processes}
        deadline = time.monotonic() + STARTUP_SECONDS
        while waiting and (time_left := deadline - time.monotonic()) > 0:
            ready = multiprocessing.connection.wait([*waiting, *sentinels], timeout=time_left)
            for item in ready:
                if item in sentinels:
                    raise self.lost("while starting")
                try:
                    item.recv()
                except EOFError:
                    raise self.lost("while starting") from None
                del waiting[item]
        if waiting:
            raise self.lost(f"while starting ({STARTUP_SECONDS:.0f} s)")

    # ------------------------------------------------------------------ what worker 0 calls
    def command(self, *message) -> None:
        if not all(process.is_alive() for process in self.processes):
            raise self.lost(f"before being told to {message[0]}")
        try:
            for pipe in self.pipes:
                pipe.send(message)
        except OSError as error:
            raise self.lost(f"told to {message[0]}") from error

    def sync(self) -> None:
        momentum = self.trainer.config.momentum > 0 and any(
            self.trainer.optimizer.state[p].get("momentum_buffer") is not None
            for p in self.sharded.params
        )
        self.command("sync", momentum)
        with self.watch("syncing the weights"):
            self.sharded.sync_from_worker_0(momentum)

    def start_epoch(self, epoch: int, batch: int) -> None:
        self.command("train", epoch, batch)

    def step(self, order, shifts, start: int, size: int, lr: float | None = None) -> float:
        with self.watch("in a training step"):
            loss, _ = self.sharded.step(order, shifts, start, size, lr=lr)
        return loss

    def stop_peers(self) -> None:
        """Worker 0 stops mid-epoch: the others are already in the next step; tell them."""
        with self.watch("while stopping"):
            self.sharded.step(None, None, 0, 0, stop=True)

    def evaluate(self, split: str) -> tuple[float, float, torch.Tensor]:
        self.command("evaluate", split)
        with self.watch(f"in the {'validation' if split == 'val' else 'test'} pass"):
            self.sharded.sync_from_worker_0(momentum=False)  # the test uses the best weights
            return self.sharded.evaluate(*split_tensors(self.trainer.splits, split))

    # ------------------------------------------------------------------ failure and the end
    def watch(self, doing: str):
        return _Watch(self, doing)

    def lost(self, doing: str) -> WorkerLostError:
        """The error that ends the run: who ended, how, and what worker 0 was doing."""
        for process in self.processes:
            process.join(timeout=1.0)  # a dead one has its exit status at once
        dead = [(rank, p.exitcode) for rank, p in enumerate(self.processes, 1) if p.exitcode]
        gone = dead or [
            (rank, None) for rank, p in enumerate(self.processes, 1) if p.exitcode is None
        ]
        who = "; ".join(f"worker {rank} {how_it_ended(code)}" for rank, code in gone)
        trainer = self.trainer
        where = f"epoch {trainer.epoch + 1}, batch {trainer.batch + 1}"
        who = who or "a worker failed"
        return WorkerLostError(f"{who} {doing} ({where}, {self.world} workers): resume to continue")

    def close(self, graceful: bool = True) -> None:
        """Let the children exit (or end them), then leave the group."""
        if graceful:
            for pipe in self.pipes:
                try:
                    pipe.send(("exit",))
                except OSError:
                    pass
        for process in self.processes:
            if graceful:
                process.join(timeout=EXIT_SECONDS)
            if process.is_alive():
                process.kill()  # it ignores SIGTERM, and may be waiting in a collective
                process.join(timeout=EXIT_SECONDS)
        for pipe in self.pipes:
            pipe.close()
        if dist.is_initialized():
            dist.destroy_process_group()
        self.sharded = None


class _Watch:
    """A collective that fails (a peer's socket closed, a timeout) becomes WorkerLostError."""

    def __init__(self, group: WorkerGroup, doing: str) -> None:
        self.group, self.doing = group, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, RuntimeError | OSError) and not isinstance(error, WorkerLostError):
            raise self.group.lost(self.doing) from error
        return False


def split_tensors(splits, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    if split == "val":
        return splits.val_images, splits.val_labels
    return splits.test_images, splits.test_labels


# ---------------------------------------------------------------------- the other workers


def watch_parent() -> None:
    """Exit the moment worker 0 is gone, whatever this process is doing (a blocked collective
    included): its end of a pipe that the spawn left open closes with it."""
    parent = torch_mp.parent_process()
    if parent is None:
        return

    def wait_then_exit() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(3)

    threading.Thread(target=wait_then_exit, name="watch-worker-0", daemon=True).start()


def worker_main(
    rank: int,
    world: int,
    port: int,
    config: dict,
    data: tuple[torch.Tensor, ...],
    shared: tuple,
    pipe,
    threads: int,
) -> None:
    """A child worker: computes its shares until worker 0 says exit (or is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    watch_parent()
    try:
        run_worker(rank, world, port, TrainConfig(**config), data, shared, pipe, threads)
    except (EOFError, OSError, RuntimeError):
        os._exit(1)  # worker 0 went away mid-conversation: it reports the run's end, not us
    # Told to exit: this process wrote nothing that needs flushing, and tearing down an
    # interpreter that imported torch took ~0.5-1 s here, which worker 0 waits for.
    os._exit(0)


def run_worker(
    rank: int,
    world: int,
    port: int,
    config: TrainConfig,
    data: tuple[torch.Tensor, ...],
    shared: tuple,
    pipe,
    threads: int,
) -> None:
    torch.set_num_threads(threads)
    train_x, train_y, val_x, val_y, test_x, test_y = data
    device = torch.device("cpu")
    memory_format = torch.channels_last
    model, optimizer = build_model(config, device, memory_format)
    pipe.send("ready")
    store = dist.TCPStore(
        HOST, port, world, is_master=False, timeout=datetime.timedelta(seconds=STARTUP_SECONDS)
    )
    join_group(store, rank, world)
    summed = SharedSum(*shared, rank=rank)
    parent = torch_mp.parent_process()
    if parent is not None:
        summed.peers_alive = parent.is_alive
    sharded = ShardedStep(
        model, optimizer, train_x, train_y, memory_format, summed, config.label_smoothing
    )
    n, size = len(train_y), config.batch_size
    batches_per_epoch = math.ceil(n / size)
    splits = {"val": (val_x, val_y), "test": (test_x, test_y)}
    try:
        while True:
            command, *arguments = pipe.recv()
            if command == "exit":
                return
            if command == "sync":
                sharded.sync_from_worker_0(momentum=arguments[0])
            elif command == "evaluate":
                sharded.sync_from_worker_0(momentum=False)
                sharded.evaluate(*splits[arguments[0]])
            elif command == "train":
                epoch, first = arguments
                order = epoch_order(config.seed, epoch, n)
                shifts = epoch_shifts(config.seed, epoch, n) if config.augment == "shift" else None
                for batch in range(first, batches_per_epoch):
                    start = batch * size
                    lr = None
                    if scheduled(config):
                        lr = learning_rate(config, epoch * batches_per_epoch + batch)
                    loss, stopped = sharded.step(order, shifts, start, min(size, n - start), lr=lr)
                    if stopped or not math.isfinite(loss):
                        break  # worker 0 stopped, or the run diverged: it says what next
    finally:
        dist.destroy_process_group()
