"""Error analysis of a run's best model on the 10,000 MNIST test images.

    evaluation = evaluate_run(run)        # computed once, then read from the run folder
    evaluation.test_risk, evaluation.confusion, evaluation.per_class_error
    misclassified(evaluation, true=3, predicted=5)   # a table for the gallery and the CSV

The cache is `evaluation.npz` in the run folder, rebuilt whenever `best.pt` is newer; the
evaluation of each epoch's kept weights (`evaluate_run(run, epoch=3)`) is cached in
`evaluations/epoch-003.npz` the same way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.files import atomic_write, is_storage_error
from core.i18n import _
from core.runs.store import Run, RunDamagedError

EVALUATION_FILE = "evaluation.npz"
EVALUATIONS_DIR = "evaluations"  # epoch-NNN.npz: the test set through each epoch's weights
CLASSES = 10


@dataclass(frozen=True)
class Evaluation:
    labels: np.ndarray  # [N] int64, the true digits
    probabilities: np.ndarray  # [N, 10] float32, softmax of the best model

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability the model gave to the class it predicted."""
        return self.probabilities.max(axis=1)

    @property
    def confusion(self) -> np.ndarray:
        """[true, predicted] counts; the diagonal holds the correct answers."""
        matrix = np.zeros((CLASSES, CLASSES), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.predictions), 1)
        return matrix

    @property
    def errors(self) -> int:
        return int((self.predictions != self.labels).sum())

    @property
    def test_risk(self) -> float:
        return self.errors / len(self.labels)

    @property
    def per_class_error(self) -> np.ndarray:
        """Error rate among the test images of each true class."""
        matrix = self.confusion
        totals = matrix.sum(axis=1)
        return 1.0 - np.diag(matrix) / np.maximum(totals, 1)


def _cache_path(run: Run, epoch: int | None = None) -> Path:
    if epoch is None:
        return run.path / EVALUATION_FILE
    return run.path / EVALUATIONS_DIR / f"epoch-{epoch:03d}.npz"


def _source_path(run: Run, epoch: int | None) -> Path:
    return run.checkpoint_path("best") if epoch is None else run.snapshot_path(epoch)


def load_cached(run: Run, epoch: int | None = None) -> Evaluation | None:
    path = _cache_path(run, epoch)
    source = _source_path(run, epoch)
    if not path.is_file() or (source.is_file() and source.stat().st_mtime > path.stat().st_mtime):
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            return Evaluation(saved["labels"], saved["probabilities"])
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is simply rebuilt


def run_model(run: Run, epoch: int | None = None):
    """The run's network (its own architecture) with the best epoch's weights, or with the
    weights kept after `epoch` (0: the random start). Evaluation mode, on the CPU.

    Raises FileNotFoundError when those weights do not exist, RunDamagedError when the
    config or the weights cannot be read."""
    from core.model.lenet import LeNet5
    from core.training.saved import load_config

    architecture = load_config(run).architecture
    if epoch is None:
        if not run.has_checkpoint("best"):
            raise FileNotFoundError(
                _("run {run} has no best.pt yet: it has not finished an epoch").format(run=run.id)
            )
        state = run.load_checkpoint("best")
    else:
        state = run.load_snapshot(epoch)
    model = LeNet5(architecture)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as error:
        file = "best.pt" if epoch is None else f"epochs/epoch-{epoch:03d}.pt"
        first = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        raise RunDamagedError(
            file, _("does not fit the run's architecture ({error})").format(error=first)
        ) from None
    return model.eval()


def evaluate_run(run: Run, data_dir: str | None = None, epoch: int | None = None) -> Evaluation:
    """The test-set evaluation of the best model (or of the weights after `epoch`), from the
    cache or computed (and cached) now. Model selection never looks at this: it is for
    showing what the network gets right and wrong."""
    cached = load_cached(run, epoch)
    if cached is not None:
        return cached
    import torch

    from core.model import mnist
    from core.training.steps import evaluate

    model = run_model(run, epoch)
    images, labels = mnist.load_test_set(data_dir)
    _loss, _errors, probabilities = evaluate(model, images, labels, torch.device("cpu"))
    result = Evaluation(labels.numpy().astype(np.int64), probabilities.numpy().astype(np.float32))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, labels=result.labels, probabilities=result.probabilities)
    try:
        atomic_write(_cache_path(run, epoch), buffer.getvalue())
    except OSError as error:
        if not is_storage_error(error):
            raise
        # A cache: on a full or read-only disk the page still gets its numbers, computed again
        # next time (seconds) instead of read back.
    return result


def misclassified(
    evaluation: Evaluation,
    true: int | None = None,
    predicted: int | None = None,
    most_confident_first: bool = True,
) -> pd.DataFrame:
    """Misclassified test images: index, true, predicted, confidence; optionally filtered."""
    wrong = np.flatnonzero(evaluation.predictions != evaluation.labels)
    table = pd.DataFrame(
        {
            "index": wrong,
            "true": evaluation.labels[wrong],
            "predicted": evaluation.predictions[wrong],
            "confidence": evaluation.confidence[wrong].astype(float),
        }
    )
    if true is not None:
        table = table[table["true"] == true]
    if predicted is not None:
        table = table[table["predicted"] == predicted]
    table = table.sort_values(["confidence", "index"], ascending=[not most_confident_first, True])
    return table.reset_index(drop=True)
