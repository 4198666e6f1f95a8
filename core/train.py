"""Train LeNet-5 on MNIST with the lecture's recipe (LESSON.md section 9).

    python -m core.train                                # 20 epochs at lr 0.1, batch 64
    python -m core.train --sweep 1,0.1,0.01 --epochs 1  # the learning-rate selection
    python -m core.train --run-dir runs/my-run --resume # continue an interrupted run

The trainer knows nothing about Streamlit: the command line and the dashboard observe it
through the same callbacks (`on_batch_end`, `on_epoch_end`), and every run is a folder on
disk (core/runs.py) that anyone can read while it trains.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core import data
from core.lenet import LeNet5
from core.runs import Run, atomic_write_json, create_run, open_run

LECTURE_TEST_RISK = 0.0091
MAX_EPOCHS = 200
MAX_BATCH_SIZE = 8192
EVAL_BATCH_SIZE = 2048


@dataclass
class TrainConfig:
    """The lecture's recipe by default: SGD, lr 0.1, batch 64, 20 epochs, 1,024 held out."""

    lr: float = 0.1
    epochs: int = 20
    batch_size: int = 64
    validation_size: int = data.VALIDATION_SIZE
    seed: int = 0
    device: str = "auto"
    train_subset: int | None = None  # first N shuffled training images, for quick demos
    log_every: int = 20  # batches between two logged batch losses
    data_dir: str | None = None
    group: str | None = None  # runs started together, e.g. a learning-rate sweep

    @property
    def train_images(self) -> int:
        full = data.TRAIN_SIZE - self.validation_size
        return min(self.train_subset, full) if self.train_subset else full

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_images / self.batch_size)

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the field and the allowed range; return self when fine."""
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float):
            raise ValueError(f"lr must be a number, got {self.lr!r}")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be positive and finite, got {self.lr}")
        bounds = {
            "epochs": (self.epochs, 1, MAX_EPOCHS),
            "batch_size": (self.batch_size, 1, MAX_BATCH_SIZE),
            "validation_size": (self.validation_size, 1, 30_000),
            "log_every": (self.log_every, 1, 100_000),
            "seed": (self.seed, 0, 2**31 - 1),
        }
        if self.train_subset is not None:
            bounds["train_subset"] = (self.train_subset, 1, data.TRAIN_SIZE)
        for name, (value, low, high) in bounds.items():
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"{name} must be a whole number from {low} to {high}, got {value!r}"
                )
        if self.group is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", str(self.group)):
            raise ValueError(f"group must be letters, digits, '.', '_' or '-', got {self.group!r}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith(
            "cuda:"
        ):
            raise ValueError(f"device must be auto, cpu, cuda or mps, got {self.device!r}")
        return self


def resolve_device(name: str) -> torch.device:
    """`auto` = CUDA, then Apple MPS, then CPU. An explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but no CUDA GPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device mps was asked for, but Apple MPS is not available")
    return torch.device(name)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


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


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, error rate, and probabilities [N, 10] on CPU."""
    model.eval()
    total_loss, probabilities = 0.0, []
    for start in range(0, len(labels), EVAL_BATCH_SIZE):
        x = images[start : start + EVAL_BATCH_SIZE].to(device)
        y = labels[start : start + EVAL_BATCH_SIZE].to(device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        probabilities.append(logits.softmax(dim=1).cpu())
    model.train()
    probabilities = torch.cat(probabilities)
    errors = (probabilities.argmax(dim=1) != labels).sum().item()
    return total_loss / len(labels), errors / len(labels), probabilities


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffle of one epoch depends only on (seed, epoch), so a resumed run sees the same."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator)


class Trainer:
    """Mini-batch SGD on cross-entropy; keeps the best validation epoch; tests it at the end."""

    def __init__(
        self,
        config: TrainConfig,
        splits: data.MnistSplits | None = None,
        run: Run | None = None,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.config = config.validate()
        self.run = run
        self.callbacks = callbacks or Callbacks()
        self.device = resolve_device(config.device)
        if self.device.type == "cpu":
            torch.set_num_threads(available_cores())
        self.splits = splits or data.load_mnist(config.data_dir, config.validation_size)

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

        torch.manual_seed(config.seed)
        self.model = LeNet5().to(self.device, memory_format=self.memory_format)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr)

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

    def resume(self) -> None:
        """Continue from the run's last checkpoint; metrics logged after it are dropped."""
        if self.run is None or not self.run.has_checkpoint("last"):
            return
        self.load_state(self.run.load_checkpoint("last", map_location=self.device))
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

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        config, n = self.config, len(self.train_y)
        batches_per_epoch = math.ceil(n / config.batch_size)
        if self.run is not None:
            self.run.write_status("running", epoch=self.epoch, epochs=config.epochs)
        pending: list[dict] = []
        while self.epoch < config.epochs:
            order = epoch_order(config.seed, self.epoch, n).to(self.device)
            # One gather per epoch; every batch after that is a contiguous slice.
            shuffled_x, shuffled_y = self.train_x[order], self.train_y[order]
            window_start, window_images = time.perf_counter(), 0
            segment_start = window_start  # wall time of this epoch, across resumes
            while self.batch < batches_per_epoch:
                start = self.batch * config.batch_size
                x = shuffled_x[start : start + config.batch_size]
                y = shuffled_y[start : start + config.batch_size]
                loss = F.cross_entropy(self.model(x), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                loss_value = loss.item()
                self.batch += 1
                window_images += len(y)
                self.epoch_loss_sum += loss_value * len(y)
                step = self.epoch * batches_per_epoch + self.batch
                now = time.perf_counter()
                self.epoch_seconds += now - segment_start
                segment_start = now

                if not math.isfinite(loss_value):
                    pending.append(self.batch_record(step, loss_value))
                    return self.finish_diverged(pending, loss_value, step)

                if self.batch % config.log_every == 0 or self.batch == batches_per_epoch:
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
                if self.callbacks.should_stop and self.callbacks.should_stop():
                    if self.batch < batches_per_epoch:
                        self.log(pending)
                        pending = []
                        self.save("last")
                        return self.finish("stopped", "stopped by request; resume to continue")
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
        val_loss, val_error, _ = evaluate(
            self.model, self.splits.val_images, self.splits.val_labels, self.device
        )
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
        self.save("last")
        if self.run is not None:
            self.run.write_status("running", epoch=self.epoch, epochs=self.config.epochs)
        if self.callbacks.on_epoch_end:
            self.callbacks.on_epoch_end(info)

    def finish(
        self, status: str, message: str | None, test_risk: float | None = None
    ) -> TrainResult:
        if self.run is not None:
            self.run.write_status(status, message, epoch=self.epoch, epochs=self.config.epochs)
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
        test_loss, test_risk, probabilities = evaluate(
            self.model, self.splits.test_images, self.splits.test_labels, self.device
        )
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
    data.atomic_write(path, buffer.getvalue())


def train(
    config: TrainConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    callbacks: Callbacks | None = None,
    splits: data.MnistSplits | None = None,
    runs_root: Path | None = None,
) -> TrainResult:
    """Train one run into its folder (a new one, or an existing one with resume=True).

    On resume the run's saved config is used, except its device when `config.device` is not
    "auto" (a run started on a GPU can finish on the CPU)."""
    config.validate()
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run's folder")
        run = open_run(run_dir)
        saved = TrainConfig(**run.read_config())
        device = saved.device if config.device == "auto" else config.device
        config = TrainConfig(**{**asdict(saved), "device": device}).validate()
    else:
        run = create_run(asdict(config), run_dir, runs_root)
    try:
        trainer = Trainer(config, splits, run, callbacks)
        if resume:
            trainer.resume()
        return trainer.fit()
    except BaseException as error:
        state = "stopped" if isinstance(error, KeyboardInterrupt) else "failed"
        run.write_status(state, f"{type(error).__name__}: {error}")
        raise


# ---------------------------------------------------------------------------- CLI


class ProgressLine:
    """One self-updating line on stderr: epoch, batch, images/s, ETA."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.started = time.perf_counter()
        self.last_draw = 0.0
        self.interactive = stream.isatty()

    def batch(self, info: BatchInfo) -> None:
        now = time.perf_counter()
        if now - self.last_draw < (0.2 if self.interactive else 10.0):
            return
        self.last_draw = now
        done = info.epoch * info.batches_per_epoch + info.batch + 1
        total = info.epochs * info.batches_per_epoch
        eta = (total - done) / max(done, 1) * (now - self.started)
        width = 24
        filled = int(width * (info.batch + 1) / info.batches_per_epoch)
        text = (
            f"epoch {info.epoch + 1}/{info.epochs} [{'#' * filled}{'.' * (width - filled)}]"
            f" {info.batch + 1}/{info.batches_per_epoch}  loss {info.loss:.4f}"
            f"  {info.images_per_second:,.0f} img/s  ETA {format_seconds(eta)}"
        )
        self.stream.write(("\r" + text + "\033[K") if self.interactive else text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else (f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}")
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive and finite: {text!r}")
    return value


def learning_rates(text: str) -> list[float]:
    return [positive_float(part.strip()) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m core.train",
        description="Train LeNet-5 on MNIST with mini-batch SGD (the lecture's recipe by default).",
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=defaults.lr,
        help=f"learning rate (default {defaults.lr})",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help=f"epochs to train, 1-{MAX_EPOCHS} (default {defaults.epochs})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help=f"mini-batch size (default {defaults.batch_size}, the lecture's)",
    )
    parser.add_argument(
        "--validation-size",
        type=int,
        default=defaults.validation_size,
        help="images held out of the training set for validation (default 1024)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed for the initial weights and the shuffling (default 0)",
    )
    parser.add_argument(
        "--train-subset",
        type=int,
        default=None,
        metavar="N",
        help="train on N images only, for a quick demo (default: all 58,976)",
    )
    parser.add_argument(
        "--device",
        default=defaults.device,
        help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps",
    )
    parser.add_argument(
        "--log-every",
        type=int,
        default=defaults.log_every,
        metavar="BATCHES",
        help=f"batches between logged batch losses (default {defaults.log_every})",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="this run's folder (default: a new folder under --runs-root)",
    )
    parser.add_argument(
        "--runs-root",
        type=Path,
        default=None,
        help="where new run folders go (default: $CNN_RUNS_DIR or runs/)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its last checkpoint",
    )
    parser.add_argument(
        "--sweep",
        type=learning_rates,
        default=None,
        metavar="LR,LR,...",
        help="one run per learning rate, e.g. 1,0.1,0.01 (the lecture's selection)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="MNIST data directory (default: $MNIST_DATA_DIR or data/)"
    )
    return parser


def run_one(
    config: TrainConfig,
    args: argparse.Namespace,
    run_dir: Path | None,
    stop_requested: Callable[[], bool],
) -> TrainResult:
    progress = ProgressLine()

    def on_epoch_end(info: EpochInfo) -> None:
        progress.clear()
        marker = "  *best" if info.best_epoch == info.epoch else ""
        print(
            f"epoch {info.epoch:>3}/{info.epochs}  train loss {info.train_loss:.4f}"
            f"  val loss {info.val_loss:.4f}  val error {info.val_error:.4f}"
            f"  {info.seconds:5.1f} s  {info.images_per_second:,.0f} img/s{marker}",
            flush=True,
        )

    callbacks = Callbacks(
        on_batch_end=progress.batch,
        on_epoch_end=on_epoch_end,
        should_stop=stop_requested,
    )
    result = train(config, run_dir, args.resume, callbacks, runs_root=args.runs_root)
    progress.clear()
    where = f" ({result.run.path})" if result.run else ""
    if result.status == "completed":
        print(
            f"best epoch {result.best_epoch} (val error {result.best_val_error:.4f});"
            f" test risk {result.test_risk:.4f} (lecture: {LECTURE_TEST_RISK}){where}"
        )
    else:
        print(f"{result.status}: {result.message}{where}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stop = {"requested": False}

    def request_stop(signum, frame) -> None:  # finish the batch, checkpoint, end as stopped
        # A second Ctrl-C means "now"; a repeated SIGTERM (a double-clicked Stop) changes nothing.
        if stop["requested"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    lrs = args.sweep or [args.lr]
    if args.sweep and (args.run_dir or args.resume):
        parser.error("--sweep makes one new run per learning rate: drop --run-dir/--resume")
    if args.resume and args.run_dir is None:
        parser.error("--resume needs --run-dir, the folder of the run to continue")
    try:
        configs = [
            TrainConfig(
                lr=lr,
                epochs=args.epochs,
                batch_size=args.batch_size,
                validation_size=args.validation_size,
                seed=args.seed,
                device=args.device,
                train_subset=args.train_subset,
                log_every=args.log_every,
                data_dir=args.data_dir,
            ).validate()
            for lr in lrs
        ]
        resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))

    results = []
    try:
        for config in configs:
            if len(configs) > 1:
                print(f"--- learning rate {config.lr:g} ---", flush=True)
            results.append(run_one(config, args, args.run_dir, lambda: stop["requested"]))
            if stop["requested"]:
                break
    except (data.MnistError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130

    if len(results) > 1:
        print("\nlearning rate  status      final train loss  val error")
        for config, result in zip(configs, results, strict=False):
            last = result.history[-1] if result.history else None
            loss = f"{last.train_loss:.4f}" if last else "-"
            error = f"{last.val_error:.4f}" if last else "-"
            print(f"{config.lr:<13g}  {result.status:<10}  {loss:>16}  {error:>9}")
    # Diverging (lr 1) and stopping on request are outcomes, not errors; failures raise above.
    return 0


if __name__ == "__main__":
    sys.exit(main())
