"""How much disk a run needs, and a full disk said in one line (core/files.py's StorageError):
the trainer checks before it starts and names what it could not write; the jobs check before
they queue a run.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

from core.files import (
    DISK_FULL_ERRNOS,
    StorageError,
    describe_storage_error,
    format_bytes,
    free_bytes,
)
from core.model.lenet import lenet_layer_table
from core.training.config import TrainConfig

# What a run's files take beyond its weights (measured on the lecture's LeNet-5, 20 epochs:
# each epoch's metrics ~24 KB at log_every 10, test_predictions.npz ~390 KB, the small JSONs).
PREDICTIONS_BYTES = 400_000
METRICS_BYTES_PER_RECORD = 200
FILE_OVERHEAD_BYTES = 4096  # a pickle's names and a filesystem block, per file


def disk_needed(config: TrainConfig) -> int:
    """About how many bytes a run of `config` needs on disk: a snapshot per epoch (+ the
    start), last.pt and best.pt (weights, + momentum), one more checkpoint while one is being
    replaced, the metrics and the test predictions. The lecture's run: about 6.6 MB; 2 epochs
    of 4,096 images: 1.94 MB, of which such a run leaves 1.67 MB when it completes."""
    # float32 weights, counted from the layer table (no network built: this runs on submit)
    weights = 4 * sum(row.parameters for row in lenet_layer_table(config.architecture))
    snapshots = (config.epochs + 1) * (weights + FILE_OVERHEAD_BYTES)
    momentum = weights if config.momentum > 0 else 0  # SGD keeps a buffer only then
    # last.pt and best.pt, and a third while one of them is being replaced
    checkpoints = 3 * (weights + momentum + 2 * FILE_OVERHEAD_BYTES)
    images = config.train_subset or 60_000 - config.validation_size
    batches = math.ceil(images / config.batch_size)
    records = config.epochs * (batches // config.loss_log_every + 2)
    return snapshots + checkpoints + records * METRICS_BYTES_PER_RECORD + PREDICTIONS_BYTES


def folder_bytes(path: Path) -> int:
    total = 0
    for file in Path(path).rglob("*"):
        try:
            total += file.stat().st_size if file.is_file() else 0
        except OSError:
            continue
    return total


def storage_message(error: OSError, config: TrainConfig, where: Path) -> str:
    """One line: what the disk refused, where, how much there is and how much the run needs,
    and what to do. Starts with what went wrong ("disk full: ...") so that a run's status reads
    `crashed: disk full`."""
    text = describe_storage_error(error, where)
    if error.errno not in DISK_FULL_ERRNOS:
        return f"{text}: make the runs folder writable (or set $CNN_RUNS_DIR), then resume the run"
    if error.errno == errno.EFBIG:
        return f"{text}: raise the limit, then resume the run"
    written = folder_bytes(where) if where.is_dir() else 0
    return (
        f"{text}, the run needs about {format_bytes(disk_needed(config))} in all"
        f" ({format_bytes(written)} written so far): free some space, then resume the run"
    )


def ensure_room(config: TrainConfig, where: Path, written: int = 0) -> None:
    """Refuse to start (StorageError) a run that the disk under `where` cannot hold: better
    now, in one line, than at epoch 12."""
    needed = disk_needed(config) - written
    free = free_bytes(where)
    if free is None or free >= needed:
        return
    more, again = (" more", "resume it") if written else ("", "start it again")
    message = (
        f"disk full: the run needs about {format_bytes(needed)}{more}"
        f" and {where} has {format_bytes(free)} free: free some space (or set $CNN_RUNS_DIR),"
        f" then {again}"
    )
    raise StorageError(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), message)
