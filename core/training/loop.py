"""Train LeNet-5 on MNIST with the lecture's recipe (LESSON.md section 9): the loop.

    python -m core.training                                # 20 epochs at lr 0.1, batch 64
    python -m core.training --sweep 1,0.1,0.01 --epochs 1  # the learning-rate selection
    python -m core.training --run-dir runs/my-run --resume # continue an interrupted run

The trainer knows nothing about Streamlit: the command line (core/training/cli.py) and the
dashboard observe it through the same callbacks (`on_batch_end`, `on_epoch_end`), and every
run is a folder on disk (core/runs/store.py) that anyone can read while it trains. What a run
is (its config, checked) lives in core/training/config.py; what a step needs, in
core/training/steps.py. On a CPU with several cores the same loop runs data-parallel: this
process and workers it starts share every batch (core/training/parallel.py).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.files import StorageError, atomic_write, atomic_write_json, is_storage_error
from core.model import mnist
from core.runs.store import (
    HEARTBEAT_EVERY,
    Run,
    RunDamagedError,
    create_run,
    default_runs_dir,
    open_run,
)
from core.training.config import (
    LECTURE_TEST_RISK,
    TrainConfig,
    available_cores,
    resolve_device,
    resolve_workers,
)
from core.training.disk import ensure_room, folder_bytes, storage_message
from core.training.parallel import WorkerGroup
from core.training.saved import load_config
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

CHECKPOINT_KEYS = (
    "model",
    "optimizer",
    "epoch",
    "batch",
    "epoch_loss_sum",
    "epoch_seconds",
    "best_epoch",
    "best_val_error",
    "metrics_written",
    "rng_cpu",
)


@dataclass
class BatchInfo:
    epoch: int  # 0-based
    batch: int  # 0-based within the epoch
    batches_per_epoch: int
    step: int  # global, 1-based count of batches done
    epochs: int
    loss: float
    images_per_second: float


@dataclass
class EpochInfo:
    epoch: int  # 1-based: epochs done
    epochs: int
    train_loss: float
    val_loss: float
    val_error: float
    seconds: float
    images_per_second: float
    best_epoch: int
    best_val_error: float


@dataclass
class Callbacks:
    """How the CLI and the dashboard observe training. Any of them may be None."""

    on_batch_end: Callable[[BatchInfo], None] | None = None
    on_epoch_end: Callable[[EpochInfo], None] | None = None
    should_stop: Callable[[], bool] | None = None


@dataclass
class TrainResult:
    status: str  # completed / stopped / diverged
    message: str | None
    epochs_done: int
    best_epoch: int | None
    best_val_error: float | None
    test_risk: float | None
    run: Run | None = None
    history: list[EpochInfo] = field(default_factory=list)


class Trainer:
    """Mini-batch SGD on cross-entropy; keeps the best validation epoch; tests it at the end.

    With `workers` > 1 (the default on a CPU with several cores), fit() starts the other
    workers with multiprocessing's spawn and ends them before it returns; spawn imports the
    main script in each, so a script that trains needs the `if __name__ == "__main__":` guard."""

    def __init__(
        self,
        config: TrainConfig,
        splits: mnist.MnistSplits | None = None,
        run: Run | None = None,
        callbacks: Callbacks | None = None,
        keep_snapshots: bool = True,
    ) -> None:
        self.config = config  # checked when it was made (TrainConfig.__post_init__)
        self.keep_snapshots = keep_snapshots  # off only to measure what they cost
        self.run = run
        self.callbacks = callbacks or Callbacks()
        self.device = resolve_device(config.device)
        if self.device.type == "cpu":
            torch.set_num_threads(available_cores())
        self.group = None  # the other workers, while fit() runs with more than one
        self.startup_seconds = 0.0  # starting them: a Python that imports torch, each
        self.splits = splits or mnist.load_mnist(config.data_dir, config.validation_size)

        train_x, train_y = self.splits.train_images, self.splits.train_labels
        if config.train_subset is not None:
            if config.train_subset > len(train_y):
                raise ValueError(
                    f"train_subset must be at most {len(train_y)}, got {config.train_subset}"
                )
            generator = torch.Generator().manual_seed(config.seed + 7919)
            chosen = torch.randperm(len(train_y), generator=generator)[: config.train_subset]
            train_x, train_y = train_x[chosen], train_y[chosen]
        # channels_last trains about 10% faster on the CPU here (benchmarks/train_throughput.py).
        self.memory_format = (
            torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        )
        # The whole training set lives on the device as one tensor; batches are slices.
        self.train_x = train_x.to(self.device).contiguous(memory_format=self.memory_format)
        self.train_y = train_y.to(self.device)
        # One process, or one per core sharing each batch (core/training/parallel.py); each worker
        # gets its part of the cores as threads.
        self.workers = resolve_workers(
            config.workers, self.device, config.batch_size, config.epochs * len(train_y)
        )
        self.threads = max(1, available_cores() // self.workers)  # each, while fit() runs

        self.model, self.optimizer = build_model(config, self.device, self.memory_format)

        # Position and running sums: exactly what a checkpoint must hold to resume.
        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed within the current epoch
        self.epoch_loss_sum = 0.0
        self.epoch_seconds = 0.0
        self.best_epoch: int | None = None
        self.best_val_error: float | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None  # also in best.pt, with a run
        self.metrics_written = 0  # records in metrics.jsonl that this state accounts for
        self.history: list[EpochInfo] = []
        # The heartbeat (core/runs/store.py): when this attempt last showed progress, the slowest
        # gap between two signs so far (it sets the run's stall bound), the last file write.
        self.last_progress: float | None = None
        self.slowest_gap = 0.0
        self.last_beat_written = -math.inf

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_seconds": self.epoch_seconds,
            "best_epoch": self.best_epoch if self.best_epoch is not None else -1,
            "best_val_error": self.best_val_error if self.best_val_error is not None else -1.0,
            "metrics_written": self.metrics_written,
            "rng_cpu": torch.get_rng_state(),
            "config": asdict(self.config),
        }

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.batch = state["epoch"], state["batch"]
        self.epoch_loss_sum, self.epoch_seconds = state["epoch_loss_sum"], state["epoch_seconds"]
        self.best_epoch = None if state["best_epoch"] < 0 else state["best_epoch"]
        self.best_val_error = None if state["best_val_error"] < 0 else state["best_val_error"]
        self.metrics_written = state["metrics_written"]
        torch.set_rng_state(state["rng_cpu"])

    def save(self, name: str = "last") -> None:
        if self.run is not None:
            self.run.save_checkpoint(name, self.state())

    def save_snapshot(self) -> None:
        """The weights after `self.epoch` epochs (0: the random start), for scrubbing through
        training: 247 KB each, about 5 MB for the lecture's 20 epochs."""
        if self.run is not None and self.keep_snapshots:
            self.run.save_snapshot(self.epoch, self.model.state_dict())

    def resume(self) -> None:
        """Continue from the run's last checkpoint; metrics logged after it are dropped.

        Without a last.pt (killed before its first checkpoint) the run starts over, and what
        the lost attempt logged is forgotten with it."""
        if self.run is None:
            return
        if not self.run.has_checkpoint("last"):
            self.run.reset_results()
            return
        state = self.run.load_checkpoint("last", map_location=self.device)
        missing = [key for key in CHECKPOINT_KEYS if key not in state]
        if missing:
            raise RunDamagedError("last.pt", f"lacks {', '.join(missing)}")
        try:
            self.load_state(state)
        except (RuntimeError, TypeError, ValueError, KeyError) as error:
            reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
            raise RunDamagedError("last.pt", f"does not fit this run ({reason})") from None
        self.run.truncate_metrics(self.metrics_written)
        self.history = [
            EpochInfo(**{key: record[key] for key in EpochInfo.__dataclass_fields__})
            for record in self.run.read_metrics()
            if record.get("kind") == "epoch"
        ]

    # ------------------------------------------------------------------ logging
    def log(self, records: list[dict], sync: bool = False) -> None:
        if self.run is not None and records:
            self.run.append_metrics(records, sync=sync)
        self.metrics_written += len(records)
        self.beat(force=sync)

    def beat(self, force: bool = False) -> None:
        """A sign of life with the progress just logged: heartbeat.json, at most once every
        HEARTBEAT_EVERY seconds (and at the start and end of every epoch)."""
        now = time.monotonic()
        if self.last_progress is not None:
            self.slowest_gap = max(self.slowest_gap, now - self.last_progress)
        self.last_progress = now
        if self.run is None or not (force or now - self.last_beat_written >= HEARTBEAT_EVERY):
            return
        batches_per_epoch = math.ceil(len(self.train_y) / self.config.batch_size)
        self.run.write_heartbeat(self.epoch * batches_per_epoch + self.batch, self.slowest_gap)
        self.last_beat_written = now

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        """Train to the end (or a stop, or divergence), then test the best epoch's weights."""
        if self.workers == 1:
            return self.fit_loop()
        started = time.perf_counter()
        self.group = WorkerGroup.start(self, self.threads)
        self.startup_seconds = time.perf_counter() - started
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # two threads per 32 images mostly wait: measured
        try:
            self.group.sync()  # a resumed run's weights and momentum, to every worker
            return self.fit_loop()  # finish() ends the workers before the final status
        finally:
            torch.set_num_threads(threads)
            if self.group is not None:  # an exception: they may be inside a collective
                self.group.close(graceful=False)
                self.group = None

    def evaluate(self, split: str) -> tuple[float, float, torch.Tensor]:
        """Mean loss, error rate and probabilities on "val" or "test", shared by the workers."""
        if self.group is not None:
            return self.group.evaluate(split)
        if split == "val":
            return evaluate(self.model, self.splits.val_images, self.splits.val_labels, self.device)
        return evaluate(self.model, self.splits.test_images, self.splits.test_labels, self.device)

    def fit_loop(self) -> TrainResult:
        config, n = self.config, len(self.train_y)
        batches_per_epoch = math.ceil(n / config.batch_size)
        log_every = config.loss_log_every
        if self.run is not None:
            self.run.write_status("running", epoch=self.epoch, epochs=config.epochs)
        self.beat(force=True)
        limit = config.time_limit_minutes
        deadline = time.monotonic() + limit * 60 if limit else None
        pending: list[dict] = []
        schedule, smoothing = scheduled(config), config.label_smoothing
        while self.epoch < config.epochs:
            if self.epoch == 0 and self.batch == 0:
                self.save_snapshot()  # epoch 0: the random start
            order = epoch_order(config.seed, self.epoch, n).to(self.device)
            shifts = epoch_shifts(config.seed, self.epoch, n) if config.augment == "shift" else None
            if self.group is None:
                # One gather per epoch; every batch after that is a contiguous slice.
                shuffled_x, shuffled_y = self.train_x[order], self.train_y[order]
            else:
                self.group.start_epoch(self.epoch, self.batch)  # each gathers only its shares
            window_start, window_images = time.perf_counter(), 0
            segment_start = window_start  # wall time of this epoch, across resumes
            while self.batch < batches_per_epoch:
                start = self.batch * config.batch_size
                size = min(config.batch_size, n - start)
                lr = None
                if schedule:
                    lr = learning_rate(config, self.epoch * batches_per_epoch + self.batch)
                    set_learning_rate(self.optimizer, lr)
                if self.group is None:
                    x = shuffled_x[start : start + config.batch_size]
                    if shifts is not None:
                        x = shift_images(x, shifts[start : start + config.batch_size]).contiguous(
                            memory_format=self.memory_format
                        )
                    y = shuffled_y[start : start + config.batch_size]
                    loss = F.cross_entropy(self.model(x), y, label_smoothing=smoothing)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                    loss_value = loss.item()
                else:
                    loss_value = self.group.step(order, shifts, start, size, lr)
                self.batch += 1
                window_images += size
                self.epoch_loss_sum += loss_value * size
                step = self.epoch * batches_per_epoch + self.batch
                now = time.perf_counter()
                self.epoch_seconds += now - segment_start
                segment_start = now

                if not math.isfinite(loss_value):
                    pending.append(self.batch_record(step, loss_value))
                    return self.finish_diverged(pending, loss_value, step)

                if self.batch % log_every == 0 or self.batch == batches_per_epoch:
                    pending.append(self.batch_record(step, loss_value))
                    rate = window_images / max(time.perf_counter() - window_start, 1e-9)
                    window_start, window_images = time.perf_counter(), 0
                    self.log(pending)
                    pending = []
                    if self.callbacks.on_batch_end:
                        self.callbacks.on_batch_end(
                            BatchInfo(
                                self.epoch,
                                self.batch - 1,
                                batches_per_epoch,
                                step,
                                config.epochs,
                                loss_value,
                                rate,
                            )
                        )
                time_up = deadline is not None and time.monotonic() >= deadline
                if time_up or (self.callbacks.should_stop and self.callbacks.should_stop()):
                    if self.batch < batches_per_epoch:
                        if self.group is not None:
                            self.group.stop_peers()  # they are already in the next step
                        self.log(pending)
                        pending = []
                        self.save("last")
                        message = "stopped by request; resume to continue"
                        if time_up:
                            message = (
                                f"time limit: stopped after {limit:g} min, at epoch"
                                f" {self.epoch + 1}/{config.epochs}, batch {self.batch}/"
                                f"{batches_per_epoch}; resume to continue"
                            )
                        return self.finish("stopped", message)
            # Free this epoch's shuffled copy (and the batch views into it) before the next.
            shuffled_x = shuffled_y = x = y = None
            self.end_epoch(n)
        return self.finish_completed()

    def batch_record(self, step: int, loss: float) -> dict:
        return {
            "kind": "batch",
            "epoch": self.epoch,
            "batch": self.batch,
            "step": step,
            "loss": loss,
            "nonfinite": None if math.isfinite(loss) else str(loss),
            "time": time.time(),
        }

    def end_epoch(self, n: int) -> None:
        val_loss, val_error, _ = self.evaluate("val")
        self.epoch += 1
        improved = self.best_val_error is None or val_error < self.best_val_error
        if improved:
            self.best_epoch, self.best_val_error = self.epoch, val_error
        info = EpochInfo(
            epoch=self.epoch,
            epochs=self.config.epochs,
            train_loss=self.epoch_loss_sum / n,
            val_loss=val_loss,
            val_error=val_error,
            seconds=self.epoch_seconds,
            images_per_second=n / max(self.epoch_seconds, 1e-9),
            best_epoch=self.best_epoch,
            best_val_error=self.best_val_error,
        )
        self.history.append(info)
        self.batch, self.epoch_loss_sum, self.epoch_seconds = 0, 0.0, 0.0
        self.log([{"kind": "epoch", **asdict(info), "time": time.time()}], sync=True)
        if improved:
            self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.save("best")
        self.save_snapshot()
        self.save("last")
        if self.run is not None:
            self.run.write_status("running", epoch=self.epoch, epochs=self.config.epochs)
        if self.callbacks.on_epoch_end:
            self.callbacks.on_epoch_end(info)

    def finish(
        self, status: str, message: str | None, test_risk: float | None = None
    ) -> TrainResult:
        if self.group is not None:
            # Before the final status: whoever reads it may resume at once, and a run is
            # only free again when every worker of this attempt has ended.
            self.group.close(graceful=True)
            self.group = None
        if self.run is not None:
            self.run.write_status(status, message, epoch=self.epoch, epochs=self.config.epochs)
            self.run.clear_stop_request()  # honoured, or moot: the run is over
        return TrainResult(
            status,
            message,
            self.epoch,
            self.best_epoch,
            self.best_val_error,
            test_risk,
            self.run,
            list(self.history),
        )

    def finish_diverged(self, pending: list[dict], loss: float, step: int) -> TrainResult:
        self.log(pending, sync=True)
        message = (
            f"training loss became {loss} at step {step} (epoch {self.epoch + 1}):"
            f" learning rate {self.config.lr:g} is too large"
        )
        return self.finish("diverged", message)

    def finish_completed(self) -> TrainResult:
        """Test the best validation epoch's weights on the 10,000 test images."""
        if self.best_weights is None and self.run is not None and self.run.has_checkpoint("best"):
            self.best_weights = self.run.load_checkpoint("best", self.device)["model"]
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        test_loss, test_risk, probabilities = self.evaluate("test")
        predictions = probabilities.argmax(dim=1)
        summary = {
            "test_risk": test_risk,
            "test_accuracy": 1.0 - test_risk,
            "test_loss": test_loss,
            "misclassified": int((predictions != self.splits.test_labels).sum()),
            "test_images": len(predictions),
            "best_epoch": self.best_epoch,
            "best_val_error": self.best_val_error,
            "lecture_test_risk": LECTURE_TEST_RISK,
        }
        if self.run is not None:
            save_predictions(
                self.run.predictions_path, self.splits.test_labels, predictions, probabilities
            )
            atomic_write_json(self.run.test_path, summary)
        message = f"test risk {test_risk:.4f} with the weights of epoch {self.best_epoch}"
        return self.finish("completed", message, test_risk)


def save_predictions(
    path: Path, labels: torch.Tensor, predictions: torch.Tensor, probabilities: torch.Tensor
) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        labels=labels.numpy().astype(np.int64),
        predictions=predictions.numpy().astype(np.int64),
        probabilities=probabilities.numpy().astype(np.float32),
    )
    atomic_write(path, buffer.getvalue())


def epoch_of(run: Run) -> int:
    """The epochs the run's status last said were done (and checkpointed)."""
    try:
        return int(run.read_status().get("epoch", 0))
    except (RunDamagedError, FileNotFoundError, TypeError, ValueError):
        return 0


def train(
    config: TrainConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    callbacks: Callbacks | None = None,
    splits: mnist.MnistSplits | None = None,
    runs_root: Path | None = None,
) -> TrainResult:
    """Train one run into its folder (a new one, or an existing one with resume=True).

    The run is locked for as long as this trains it (core/runs/store.py): a second trainer on the
    same folder gets RunBusyError. On resume the run's saved config is used, except its device
    when `config.device` is not "auto" (a run started on a GPU can finish on the CPU) and its
    workers when `config.workers` is given. A damaged
    run folder raises RunDamagedError naming the file."""
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run's folder")
        run = open_run(run_dir)
        lock = run.inherited_lock()  # a job process waited in the queue holding it for us
        handed_down = lock is not None
        if lock is None:
            lock = run.acquire_lock()
        try:
            saved = load_config(run)
            device = saved.device if config.device == "auto" else config.device
            workers = saved.workers if config.workers is None else config.workers
            limit = config.time_limit_minutes
            limit = saved.time_limit_minutes if limit is None else limit
            config = replace(saved, device=device, workers=workers, time_limit_minutes=limit)
        except BaseException:
            os.close(lock)
            raise
    else:
        where = Path(run_dir) if run_dir is not None else (runs_root or default_runs_dir())
        ensure_room(config, where)
        try:
            run, lock = create_run(asdict(config), run_dir, runs_root)
        except OSError as error:
            if not is_storage_error(error):
                raise
            raise StorageError(error, storage_message(error, config, where)) from None
        handed_down = False
    try:
        if not handed_down:
            run.clear_stop_request()  # a Stop meant for an earlier attempt
        run.remove_partial_files()  # checkpoint writes that a kill cut short
        callbacks = callbacks or Callbacks()
        asked = callbacks.should_stop
        callbacks = Callbacks(
            callbacks.on_batch_end,
            callbacks.on_epoch_end,
            lambda: bool(asked and asked()) or run.stop_requested(),
        )
        if resume:
            ensure_room(config, run.path, folder_bytes(run.path))
        trainer = Trainer(config, splits, run, callbacks)
        if resume:
            trainer.resume()
        return trainer.fit()
    except BaseException as error:
        if is_storage_error(error):
            # Nothing is lost: every file is written whole or not at all (core/files.py), and
            # the last checkpoint is the one before the write that failed. Crashed: resumable.
            if isinstance(error, StorageError):
                message = error.message
            else:
                message = storage_message(error, config, run.path)
            try:
                run.write_status("crashed", message, epoch=epoch_of(run), epochs=config.epochs)
            except OSError:
                pass  # then the lock, dropped at exit, says crashed (core/runs/store.py)
            raise StorageError(error, message) from None
        state = "stopped" if isinstance(error, KeyboardInterrupt) else "failed"
        if isinstance(error, WorkerLostError):
            state = "crashed"  # as if the trainer itself had been killed: resume continues it
        known = isinstance(error, RunDamagedError | ValueError | mnist.MnistError | WorkerLostError)
        run.write_status(state, str(error) if known else f"{type(error).__name__}: {error}")
        raise
    finally:
        os.close(lock)  # the kernel would drop it at exit anyway; a library caller goes on
