"""The trainer's command line: `python -m core.train` (see core/training/loop.py for the loop).

    python -m core.train                                # the lecture's recipe
    python -m core.train --quick                        # one epoch on 40,000 images, seconds
    python -m core.train --sweep 1,0.1,0.01 --epochs 1  # the learning-rate selection
    python -m core.train --run-dir runs/my-run --resume # continue an interrupted run

Every failure the user can fix (bad argument, busy or damaged run, missing MNIST) is one line
on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.files import StorageError
from core.model import mnist
from core.model.lenet import (
    ACTIVATIONS,
    ARCHITECTURE_RANGES,
    LECTURE_ARCHITECTURE,
    PAPER_1998_ARCHITECTURE,
    POOLINGS,
)
from core.runs.store import RunBusyError, RunDamagedError, default_runs_dir
from core.training.config import (
    ARCHITECTURE_FIELDS,
    AUGMENTATIONS,
    FAST_RECIPE,
    LECTURE_TEST_RISK,
    MAX_EPOCHS,
    MAX_LABEL_SMOOTHING,
    MAX_MOMENTUM,
    MAX_SHIFT,
    MAX_TIME_LIMIT_MINUTES,
    MAX_WARMUP,
    MAX_WEIGHT_DECAY,
    MAX_WORKERS,
    QUICK_DEMO,
    SCHEDULES,
    TrainConfig,
    resolve_device,
    resolve_workers,
)
from core.training.loop import BatchInfo, Callbacks, EpochInfo, TrainResult, train
from core.training.steps import WorkerLostError


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


def worker_count(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not auto or a whole number: {text!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_WORKERS}: {text!r}")
    return value


def learning_rates(text: str) -> list[float]:
    return [positive_float(part.strip()) for part in text.split(",") if part.strip()]


PRESETS = {"lecture": LECTURE_ARCHITECTURE, "1998": PAPER_1998_ARCHITECTURE}


def minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 <= value <= MAX_TIME_LIMIT_MINUTES:
        raise argparse.ArgumentTypeError(
            f"{value:g} is not from 0 (none) to {MAX_TIME_LIMIT_MINUTES:,} minutes"
        )
    return value


# The run's settings as options: one entry per TrainConfig field, --name-with-dashes, its
# default the field's ({default} in the help); the architecture fields come from
# core.model.lenet.ARCHITECTURE_RANGES, `group` is the dashboard's (a sweep's runs).
# tests/core/training/test_loop.py checks that every field is here, there or named as not an option.
OPTIONS: dict[str, tuple[Callable[[str], object], str | None, str]] = {
    "lr": (positive_float, None, "learning rate (default {default})"),
    "epochs": (int, None, f"epochs to train, 1-{MAX_EPOCHS} (default {{default}})"),
    "batch_size": (int, None, "mini-batch size (default {default}, the lecture's)"),
    "validation_size": (
        int,
        None,
        "images held out of the training set for validation (default {default})",
    ),
    "seed": (int, None, "seed for the initial weights and the shuffling (default {default})"),
    "train_subset": (
        int,
        "N",
        "train on N images only, for a quick demo (default: all 58,976)",
    ),
    "device": (str, None, "auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps"),
    "workers": (
        worker_count,
        "N",
        "processes sharing each batch, CPU only (default auto: 2 on a CPU with 2+ cores for a"
        " run of at least 8 full epochs, where they measured 1.16x one process; else 1)",
    ),
    "time_limit_minutes": (
        minutes,
        "MINUTES",
        "end each attempt as stopped (checkpointed, resumable) after this many minutes of wall"
        " clock (default: none; with --resume, the run's own; 0: none)",
    ),
    "log_every": (
        int,
        "BATCHES",
        "batches between logged batch losses (default: about 50 points an epoch, every batch"
        " for tiny runs)",
    ),
    "data_dir": (str, None, "MNIST data directory (default: $MNIST_DATA_DIR or data/)"),
}
KNOBS: dict[str, tuple[Callable[[str], object], str | None, str]] = {
    "momentum": (float, None, f"0-{MAX_MOMENTUM} (default {{default}})"),
    "weight_decay": (float, None, f"L2 penalty, 0-{MAX_WEIGHT_DECAY:g} (default {{default}})"),
    "augment": (
        str,
        None,
        f"shift: move each digit by up to {MAX_SHIFT} pixels each epoch (default {{default}})",
    ),
    "schedule": (
        str,
        None,
        "the learning rate over the run: constant (the lecture's), onecycle (up from lr/25 over"
        " --warmup or 30%% of the steps, then down to ~0), cosine or linear decay (default"
        " {default})",
    ),
    "warmup": (
        float,
        "SHARE",
        f"share of the steps the rate rises over linearly, 0-{MAX_WARMUP:g} (default {{default}})",
    ),
    "nesterov": (bool, None, "Nesterov momentum (needs --momentum above 0)"),
    "label_smoothing": (
        float,
        None,
        f"label smoothing of the training loss, 0-{MAX_LABEL_SMOOTHING:g} (default {{default}})",
    ),
}
NOT_OPTIONS = ("group",)  # the dashboard's name for runs started together
FLAGS = {"time_limit_minutes": "--time-limit"}  # shorter than the field's name


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def add_settings(parser, table: dict, defaults: TrainConfig) -> None:
    """One option per TrainConfig field of `table`, its default the field's."""
    for name, (kind, metavar, text) in table.items():
        if kind is bool:
            parser.add_argument(
                flag(name),
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=getattr(defaults, name),
                help=text,
            )
            continue
        choices = {"augment": AUGMENTATIONS, "schedule": SCHEDULES}.get(name)
        parser.add_argument(
            flag(name),
            dest=name,
            type=kind,
            default=getattr(defaults, name),
            metavar=metavar,
            help=text.format(default=getattr(defaults, name)),
            **({"choices": choices} if choices else {}),
        )


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m core.train",
        description="Train LeNet-5 on MNIST with mini-batch SGD (the lecture's recipe by default).",
    )
    add_settings(parser, OPTIONS, defaults)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a quick demo that learns in seconds: {QUICK_DEMO['epochs']} epoch on"
        f" {QUICK_DEMO['train_subset']:,} images (overrides --epochs and --train-subset)",
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
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="train on the Ray cluster at ADDRESS (HEAD:6379, or auto: the one this machine"
        " belongs to; default: $CNN_RAY_ADDRESS, else here). The run folder stays here",
    )
    parser.add_argument(
        "--sweep",
        type=learning_rates,
        default=None,
        metavar="LR,LR,...",
        help="one run per learning rate, e.g. 1,0.1,0.01 (the lecture's selection)",
    )
    variant = parser.add_argument_group(
        "the network (default: the lecture's LeNet-5)",
        "C1 and C3 kernels, channels and padding, the pooling window of S2 and S4, the"
        " activation and the pooling kind. --preset 1998 is LeCun et al.'s tanh and average"
        " pooling (it leaves out trainable subsampling, C3's partial connection table and the"
        " RBF output).",
    )
    variant.add_argument(
        "--preset",
        choices=sorted(PRESETS) + ["fast"],
        default=None,
        help="start from an architecture preset; the flags below override it. fast: the"
        " lecture's network trained with the fast recipe ("
        + ", ".join(f"{flag(k)} {v}" for k, v in FAST_RECIPE.items())
        + "; any of them given overrides it)",
    )
    for name, (low, high) in ARCHITECTURE_RANGES.items():
        variant.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=None,
            metavar="N",
            help=f"{low}-{high} (lecture: {getattr(defaults, name)})",
        )
    variant.add_argument("--activation", choices=list(ACTIVATIONS), default=None)
    variant.add_argument("--pooling", choices=list(POOLINGS), default=None)
    knobs = parser.add_argument_group("beyond the lecture's plain SGD (default: off)")
    add_settings(knobs, KNOBS, defaults)
    return parser


def apply_recipe(args: argparse.Namespace, argv: list[str]) -> None:
    """--preset fast: FAST_RECIPE's settings, except each one given on the command line."""
    if args.preset != "fast":
        return
    given = {word.split("=")[0] for word in argv}
    for name, value in FAST_RECIPE.items():
        if flag(name) not in given and f"--no-{name}" not in given:
            setattr(args, name, value)


def architecture_of(args: argparse.Namespace) -> dict:
    """The preset's architecture fields, overridden by each flag given."""
    base = PRESETS.get(args.preset or "lecture", PRESETS["lecture"])  # fast: the lecture's
    fields = {name: getattr(base, name) for name in ARCHITECTURE_FIELDS}
    for name in ARCHITECTURE_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    return fields


def run_one(
    config: TrainConfig,
    args: argparse.Namespace,
    run_dir: Path | None,
    stop_requested: Callable[[], bool],
    splits: mnist.MnistSplits | None = None,
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
    result = train(config, run_dir, args.resume, callbacks, splits=splits, runs_root=args.runs_root)
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


def main(argv: list[str] | None = None, splits: mnist.MnistSplits | None = None) -> int:
    """The command line. `splits`: MNIST already loaded by this process (a queued job that
    loaded it while it waited, core/training/jobs.py), for the run it was loaded for."""
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

    if args.sweep and (args.run_dir or args.resume):
        parser.error("--sweep makes one new run per learning rate: drop --run-dir/--resume")
    if args.resume and args.run_dir is None:
        parser.error("--resume needs --run-dir, the folder of the run to continue")
    if args.quick:
        args.epochs, args.train_subset = QUICK_DEMO["epochs"], QUICK_DEMO["train_subset"]
    apply_recipe(args, sys.argv[1:] if argv is None else argv)
    lrs = args.sweep or [args.lr]  # after the recipe: --preset fast has its own rate
    try:
        settings = {name: getattr(args, name) for name in (*OPTIONS, *KNOBS)}
        settings.update(architecture_of(args))
        configs = [TrainConfig(**{**settings, "lr": lr}) for lr in lrs]
        resolve_workers(args.workers, resolve_device(args.device), args.batch_size)
    except ValueError as error:
        parser.error(str(error))

    from core.training.ray_jobs import ray_address  # imports Ray only to train on it

    address = ray_address(args.ray)
    if address is not None:
        if len(configs) > 1:
            parser.error("--sweep with --ray: start the sweep from the training page")
        return train_on_ray(configs[0], args, address)

    results = []
    try:
        for config in configs:
            if len(configs) > 1:
                print(f"--- learning rate {config.lr:g} ---", flush=True)
            results.append(run_one(config, args, args.run_dir, lambda: stop["requested"], splits))
            if stop["requested"]:
                break
    except RunDamagedError as error:
        print(f"error: run {args.run_dir} is damaged: {error}", file=sys.stderr)
        return 2
    except StorageError as error:  # recorded as crashed: resume continues once there is room
        try:
            print(f"error: {error}", file=sys.stderr, flush=True)
        except OSError:
            pass  # a job's stderr is a file on that same full disk; the status says it
        return 2
    except (
        mnist.MnistError,
        FileNotFoundError,
        FileExistsError,
        ValueError,
        RunBusyError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except WorkerLostError as error:  # the run is recorded as crashed: resume continues it
        print(f"error: {error}", file=sys.stderr)
        return 1
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


def train_on_ray(config: TrainConfig, args: argparse.Namespace, address: str) -> int:
    """One run (new, or --resume) trained on the Ray cluster; its folder is written here."""
    from dataclasses import asdict

    from core.runs.store import create_run, open_run
    from core.training.disk import ensure_room
    from core.training.ray_jobs import drive

    try:
        if args.resume:
            run = open_run(args.run_dir)
            lock = run.acquire_lock()
            state = run.current_status().get("state")
            if state == "completed":
                os.close(lock)
                raise ValueError(f"run {run.id} has completed; there is nothing to resume")
            run.clear_stop_request()
        else:
            where = args.run_dir or args.runs_root or default_runs_dir()
            ensure_room(config, Path(where))
            run, lock = create_run(asdict(config), args.run_dir, args.runs_root)
    except (FileNotFoundError, FileExistsError, ValueError, RunBusyError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: run.request_stop())
    signal.signal(signal.SIGINT, lambda *_: run.request_stop())
    try:
        run.write_status("queued", "queued on Ray", queued_at=time.time())
        print(f"run {run.id} ({run.path}) on Ray at {address}", flush=True)
        return drive(run, address, echo=True)
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main())
