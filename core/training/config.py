"""What a training run is: its config (the lecture's recipe by default), checked, and the device.

TrainConfig()                       # SGD, lr 0.1, batch 64, 20 epochs, 1,024 held out
TrainConfig(**QUICK_DEMO)           # one epoch on 40,000 images: learns in seconds
TrainConfig(epochs=0)               # ValueError: a config is checked once, when it is made
load_config(run)                    # a run folder's config.json, every field checked
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields
from typing import Any

import torch

from core.i18n import N_, _
from core.model import mnist
from core.model.lenet import LECTURE_ARCHITECTURE, LeNetArchitecture

LECTURE_TEST_RISK = 0.0091
MAX_EPOCHS = 200
MAX_BATCH_SIZE = 8192
MAX_VALIDATION_SIZE = 30_000
# The weights are float32 (largest about 3.4e38): a larger step size cannot even be applied.
# Every rate above ~10 already diverges, so the cap takes nothing away from the experiment.
MAX_LR = 1e30
# A batch loss is logged about this many times an epoch (every batch for tiny runs), so that
# every run, however short, draws a curve, and a long one does not write a line per batch.
LOSS_POINTS_PER_EPOCH = 50

# Quick settings that show learning in seconds: at lr 0.1 the loss sits on a plateau near
# ln 10 for the first ~100 steps, so a run of a few dozen batches stays at chance. One epoch on
# 40,000 images (625 steps) reaches a few percent test risk (about 4% measured here).
QUICK_DEMO = {"epochs": 1, "train_subset": 40_000}
# The lecture's accuracy in a fraction of its time (issue 26, benchmarks/time_to_accuracy.py):
# the lecture's network and data, fewer steps: a larger batch, Nesterov momentum, a one-cycle
# rate and label smoothing. Chosen on the validation split (3 seeds each, 2026-12-07: 6 epochs
# at lr 0.1, batch 128: best val error 0.98% median, 30-47 s; 5 epochs at 0.1: 0.98%, 26-28 s;
# 5 at 0.15: 0.98% median, 0.94% mean, 26-30 s; 4 at 0.1: 1.27%; 5 at batch 256 and lr 0.2:
# 1.27%; 6 at batch 256, lr 0.1: 1.27%). 5 epochs at 0.1 and at 0.15 tie on the median; 0.1,
# the lecture's own rate, is kept (benchmarks/time_to_accuracy.py measured it). The test set
# is only reported.
FAST_RECIPE = {
    "epochs": 5,
    "batch_size": 128,
    "lr": 0.1,
    "momentum": 0.9,
    "nesterov": True,
    "schedule": "onecycle",
    "label_smoothing": 0.1,
}
PLATEAU_STEPS = 100

# The fields a saved config.json must have: they decide what is trained and on what. Fields
# added later default to the lecture's values, so older runs still open.
REQUIRED_FIELDS = ("lr", "epochs", "batch_size", "validation_size", "seed", "train_subset")
ARCHITECTURE_FIELDS = (
    "c1_kernel",
    "c1_channels",
    "c1_padding",
    "c3_kernel",
    "c3_channels",
    "c3_padding",
    "pool",
    "activation",
    "pooling",
)
AUGMENTATIONS = ("none", "shift")
MAX_SHIFT = 2  # pixels, each way: LeCun et al.'s distortions were of this order
MAX_MOMENTUM = 0.99
MAX_WEIGHT_DECAY = 0.1
MAX_WORKERS = 64
# Auto: two data-parallel workers on a CPU with 2 or more cores, for a run long enough to pay
# back starting the second (a Python importing torch, ~2.6 s). Measured on the 2-core machine
# (benchmarks/train_throughput.py, full epochs, interleaved, medians of 5): 14,735 images/s
# for two workers against 12,695 for one process with two threads (1.16x), that is ~0.6 s
# saved an epoch of 58,976 images; break-even is ~4 such epochs, so auto asks for 8 (the
# lecture's 20-epoch recipe: 2 workers; a quick demo or a 1-epoch sweep: 1 process). Only
# 2 cores were measured, so auto never asks for more than 2.
AUTO_MAX_WORKERS = 2
AUTO_MIN_IMAGES = 8 * 58_976


MAX_TIME_LIMIT_MINUTES = 7 * 24 * 60  # a week
# The learning rate over the run (core/training/steps.py learning_rate): constant (the
# lecture's), one-cycle (up from lr/25, then down to ~0), cosine or linear decay to 0, each
# after an optional linear warm-up over a share of the run's steps.
SCHEDULES = ("constant", "onecycle", "cosine", "linear")
MAX_WARMUP = 0.5
MAX_LABEL_SMOOTHING = 0.3

# A setting's short name as the pages show it (the form's fast recipe, the compare page's
# columns): in English the field's name with spaces. Marked only: `setting_label` translates.
SETTING_LABELS = {
    "lr": N_("lr"),
    "epochs": N_("epochs"),
    "batch_size": N_("batch size"),
    "validation_size": N_("validation size"),
    "seed": N_("seed"),
    "device": N_("device"),
    "train_subset": N_("train subset"),
    "c1_kernel": N_("c1 kernel"),
    "c1_channels": N_("c1 channels"),
    "c1_padding": N_("c1 padding"),
    "c3_kernel": N_("c3 kernel"),
    "c3_channels": N_("c3 channels"),
    "c3_padding": N_("c3 padding"),
    "pool": N_("pool"),
    "activation": N_("activation"),
    "pooling": N_("pooling"),
    "momentum": N_("momentum"),
    "weight_decay": N_("weight decay"),
    "augment": N_("augment"),
    "schedule": N_("schedule"),
    "warmup": N_("warmup"),
    "nesterov": N_("nesterov"),
    "label_smoothing": N_("label smoothing"),
    "workers": N_("workers"),
    "time_limit_minutes": N_("time limit minutes"),
}


def setting_label(name: str) -> str:
    """A TrainConfig field's short name in the current language ("batch size" in English)."""
    label = SETTING_LABELS.get(name)
    return _(label) if label else name.replace("_", " ")


@dataclass(frozen=True)
class TrainConfig:
    """The lecture's recipe by default: SGD, lr 0.1, batch 64, 20 epochs, 1,024 held out.

    Checked once, when it is made (`__post_init__` raises ValueError naming the field), and
    frozen after: every TrainConfig that exists is a valid one, so the form, the command line,
    the queue and the trainer pass it on without checking it again. A changed copy is
    `dataclasses.replace(config, ...)`, checked in turn."""

    lr: float = 0.1
    epochs: int = 20
    batch_size: int = 64
    validation_size: int = mnist.VALIDATION_SIZE
    seed: int = 0
    device: str = "auto"
    train_subset: int | None = None  # first N shuffled training images, for quick demos
    log_every: int | None = None  # batches between logged losses; None: ~50 points an epoch
    data_dir: str | None = None
    group: str | None = None  # runs started together, e.g. a learning-rate sweep
    # The architecture (core.model.lenet.LeNetArchitecture; the lecture's by default).
    c1_kernel: int = LECTURE_ARCHITECTURE.c1_kernel
    c1_channels: int = LECTURE_ARCHITECTURE.c1_channels
    c1_padding: int = LECTURE_ARCHITECTURE.c1_padding
    c3_kernel: int = LECTURE_ARCHITECTURE.c3_kernel
    c3_channels: int = LECTURE_ARCHITECTURE.c3_channels
    c3_padding: int = LECTURE_ARCHITECTURE.c3_padding
    pool: int = LECTURE_ARCHITECTURE.pool
    activation: str = LECTURE_ARCHITECTURE.activation
    pooling: str = LECTURE_ARCHITECTURE.pooling
    # Beyond the lecture's plain SGD, each off by default.
    momentum: float = 0.0
    weight_decay: float = 0.0
    augment: str = "none"  # "shift": each digit moved by up to MAX_SHIFT pixels each epoch
    schedule: str = "constant"  # SCHEDULES
    warmup: float = 0.0  # share of the run's steps the rate rises over linearly, 0-MAX_WARMUP
    nesterov: bool = False  # Nesterov momentum (needs momentum > 0)
    label_smoothing: float = 0.0  # the training loss's targets, 0-MAX_LABEL_SMOOTHING
    # How it runs, not what it learns (like device): processes sharing each batch, None = auto
    # (one per core, up to AUTO_MAX_WORKERS, on a CPU; 1 on a GPU). core/training/parallel.py.
    workers: int | None = None
    # A wall-clock limit on each attempt, in minutes (None or 0: none): the run ends `stopped`
    # at the first batch past it, checkpointed, as a Stop does; resume continues it.
    time_limit_minutes: float | None = None

    @property
    def architecture(self) -> LeNetArchitecture:
        return LeNetArchitecture(**{name: getattr(self, name) for name in ARCHITECTURE_FIELDS})

    @property
    def available_train_images(self) -> int:
        return mnist.TRAIN_SIZE - self.validation_size

    @property
    def train_images(self) -> int:
        full = self.available_train_images
        return min(self.train_subset, full) if self.train_subset else full

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_images / self.batch_size)

    @property
    def loss_log_every(self) -> int:
        """Batches between two logged batch losses."""
        if self.log_every is not None:
            return self.log_every
        return max(1, self.batches_per_epoch // LOSS_POINTS_PER_EPOCH)

    def __post_init__(self) -> None:
        self._check()

    def validate(self) -> TrainConfig:
        """The config itself: it was checked when it was made (kept for callers that chain it)."""
        return self

    def _check(self) -> None:
        """Raise ValueError naming the field and the allowed range."""
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float):
            raise ValueError(_("lr must be a number, got {value!r}").format(value=self.lr))
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(_("lr must be positive and finite, got {value}").format(value=self.lr))
        if self.lr > MAX_LR:
            raise ValueError(
                _(
                    "lr must be at most {most:g} (float32 weights cannot take a larger step;"
                    " any rate above about 10 already diverges), got {value:g}"
                ).format(most=MAX_LR, value=self.lr)
            )
        bounds = {
            "epochs": (self.epochs, 1, MAX_EPOCHS),
            "batch_size": (self.batch_size, 1, MAX_BATCH_SIZE),
            "validation_size": (self.validation_size, 1, MAX_VALIDATION_SIZE),
            "seed": (self.seed, 0, 2**31 - 1),
        }
        if self.log_every is not None:
            bounds["log_every"] = (self.log_every, 1, 100_000)
        if self.workers is not None:
            bounds["workers"] = (self.workers, 1, MAX_WORKERS)
        for name, (value, low, high) in bounds.items():
            check_whole(name, value, low, high)
        if self.train_subset is not None:
            check_whole("train_subset", self.train_subset, 1, self.available_train_images)
        if self.group is not None and (
            not isinstance(self.group, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", self.group)
        ):
            raise ValueError(
                _("group must be letters, digits, '.', '_' or '-', got {value!r}").format(
                    value=self.group
                )
            )
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(
                _("data_dir must be a folder name, got {value!r}").format(value=self.data_dir)
            )
        for name, high in (
            ("momentum", MAX_MOMENTUM),
            ("weight_decay", MAX_WEIGHT_DECAY),
            ("warmup", MAX_WARMUP),
            ("label_smoothing", MAX_LABEL_SMOOTHING),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(
                    _("{name} must be a number, got {value!r}").format(name=name, value=value)
                )
            if not 0 <= value <= high:
                raise ValueError(
                    _("{name} must be from 0 to {high:g}, got {value:g}").format(
                        name=name, high=high, value=value
                    )
                )
        limit = self.time_limit_minutes
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not 0 <= limit <= MAX_TIME_LIMIT_MINUTES
        ):
            raise ValueError(
                _("time_limit_minutes must be from 0 (none) to {most:,}, got {value!r}").format(
                    most=MAX_TIME_LIMIT_MINUTES, value=limit
                )
            )
        if self.augment not in AUGMENTATIONS:
            raise ValueError(
                _("augment must be none or shift, got {value!r}").format(value=self.augment)
            )
        if self.schedule not in SCHEDULES:
            names = ", ".join(SCHEDULES)
            raise ValueError(
                _("schedule must be one of {names}, got {value!r}").format(
                    names=names, value=self.schedule
                )
            )
        if not isinstance(self.nesterov, bool):
            raise ValueError(
                _("nesterov must be true or false, got {value!r}").format(value=self.nesterov)
            )
        if self.nesterov and not self.momentum:
            raise ValueError(_("nesterov needs a momentum above 0 (e.g. --momentum 0.9)"))
        self.architecture.check()  # names the layer that breaks, as the LeNet-5 page does
        devices = ("auto", "cpu", "cuda", "mps")
        if not isinstance(self.device, str) or (
            self.device not in devices and not self.device.startswith("cuda:")
        ):
            raise ValueError(
                _("device must be auto, cpu, cuda or mps, got {value!r}").format(value=self.device)
            )


def check_whole(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(
            _("{name} must be a whole number from {low} to {high}, got {value!r}").format(
                name=name, low=low, high=high, value=value
            )
        )


def config_from_dict(saved: Any) -> TrainConfig:
    """A TrainConfig from a saved dict, or ValueError saying what is missing, unknown or bad."""
    if not isinstance(saved, dict):
        raise ValueError(
            _("the config is a {kind}, not an object").format(kind=type(saved).__name__)
        )
    known = {field.name for field in fields(TrainConfig)}
    unknown = sorted(str(key) for key in saved if key not in known)
    if unknown:
        names = ", ".join(unknown)
        if len(unknown) > 1:
            raise ValueError(_("unknown settings {names}").format(names=names))
        raise ValueError(_("unknown setting {name}").format(name=names))
    missing = [key for key in REQUIRED_FIELDS if key not in saved]
    if missing:
        raise ValueError(_("missing {names}").format(names=", ".join(missing)))
    return TrainConfig(**saved)


def resolve_device(name: str) -> torch.device:
    """`auto` = CUDA, then Apple MPS, then CPU. An explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(_("device cuda was asked for, but no CUDA GPU is available"))
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError(_("device mps was asked for, but Apple MPS is not available"))
    return torch.device(name)


def resolve_workers(
    workers: int | None, device: torch.device, batch_size: int, images: int | None = None
) -> int:
    """How many processes share each batch: `workers`, or auto on a CPU: AUTO_MAX_WORKERS (at
    most one per core) when the run trains at least AUTO_MIN_IMAGES images (`images`: epochs
    x training images; unknown counts as long), else 1; 1 on CUDA or MPS; never more than the
    images in a batch. 1 is the single-process trainer, unchanged."""
    if workers is None:
        long_enough = images is None or images >= AUTO_MIN_IMAGES
        cpu = device.type == "cpu"
        workers = min(available_cores(), AUTO_MAX_WORKERS) if cpu and long_enough else 1
    if workers > 1 and device.type != "cpu":
        raise ValueError(
            _("workers must be 1 on device {device} (several are CPU only)").format(
                device=device.type
            )
        )
    return max(1, min(workers, batch_size))


CPUS_ENV = "CNN_CPUS"  # at most this many cores (a Ray node's trainer: the CPUs Ray gave it)


def available_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        cap = int(os.environ.get(CPUS_ENV, "0"))
    except ValueError:
        cap = 0
    return max(1, min(cores, cap)) if cap > 0 else cores
