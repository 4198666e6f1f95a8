"""Error analysis of a run's best model on the 10,000 MNIST test images.

    evaluation = evaluate_run(run)        # computed once, then read from the run folder
    evaluation.test_risk, evaluation.confusion, evaluation.per_class_error
    misclassified(evaluation, true=3, predicted=5)   # a table for the gallery and the CSV

The cache is `evaluation.npz` in the run folder, rebuilt whenever `best.pt` is newer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.files import atomic_write
from core.runs import Run

EVALUATION_FILE = "evaluation.npz"
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


def _cache_path(run: Run) -> Path:
    return run.path / EVALUATION_FILE


def load_cached(run: Run) -> Evaluation | None:
    path = _cache_path(run)
    best = run.checkpoint_path("best")
    if not path.is_file() or (best.is_file() and best.stat().st_mtime > path.stat().st_mtime):
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            return Evaluation(saved["labels"], saved["probabilities"])
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is simply rebuilt


def evaluate_run(run: Run, data_dir: str | None = None) -> Evaluation:
    """The best model's test-set evaluation, from the cache or computed (and cached) now."""
    cached = load_cached(run)
    if cached is not None:
        return cached
    if not run.has_checkpoint("best"):
        raise FileNotFoundError(f"run {run.id} has no best.pt yet: it has not finished an epoch")
    import torch

    from core import data
    from core.lenet import LeNet5
    from core.train import evaluate

    model = LeNet5()
    model.load_state_dict(run.load_checkpoint("best")["model"])
    images, labels = data.load_test_set(data_dir)
    _, _, probabilities = evaluate(model, images, labels, torch.device("cpu"))
    result = Evaluation(labels.numpy().astype(np.int64), probabilities.numpy().astype(np.float32))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, labels=result.labels, probabilities=result.probabilities)
    atomic_write(_cache_path(run), buffer.getvalue())
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
