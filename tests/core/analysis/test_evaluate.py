"""Error analysis on a checkpoint trained here: the confusion matrix, the test risk and the
misclassified list agree with each other and with what the trainer reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.analysis.evaluate import EVALUATION_FILE, evaluate_run, load_cached, misclassified
from core.model import mnist
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train

pytestmark = [pytest.mark.mnist, pytest.mark.numerics]  # floats of a trained run


@pytest.fixture(scope="module")
def trained_run(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    run_dir = tmp_path_factory.mktemp("runs") / "short-run"
    result = train(TrainConfig(epochs=1, train_subset=8_192, seed=1), run_dir)
    assert result.status == "completed"
    return open_run(run_dir)


def test_confusion_risk_and_gallery_agree(trained_run) -> None:
    evaluation = evaluate_run(trained_run)
    confusion = evaluation.confusion
    assert confusion.sum() == 10_000
    off_diagonal = confusion.sum() - np.trace(confusion)
    assert off_diagonal == evaluation.errors == round(evaluation.test_risk * 10_000)
    reported = json.loads(trained_run.test_path.read_text())
    assert evaluation.test_risk == pytest.approx(reported["test_risk"])
    gallery = misclassified(evaluation)
    assert len(gallery) == evaluation.errors
    wrong = np.flatnonzero(evaluation.predictions != evaluation.labels)
    assert sorted(gallery["index"]) == wrong.tolist()
    assert (gallery["true"] != gallery["predicted"]).all()
    # Per-class error rates weigh back to the test risk.
    counts = confusion.sum(axis=1)
    assert (evaluation.per_class_error * counts).sum() == pytest.approx(evaluation.errors)


def test_filters_and_order(trained_run) -> None:
    evaluation = evaluate_run(trained_run)
    confusion = evaluation.confusion
    for true in range(10):
        for predicted in range(10):
            if true != predicted:
                pair = misclassified(evaluation, true, predicted)
                assert len(pair) == confusion[true, predicted]
    ordered = misclassified(evaluation)["confidence"].to_numpy()
    assert (np.diff(ordered) <= 0).all()
    reverse = misclassified(evaluation, most_confident_first=False)["confidence"].to_numpy()
    assert (np.diff(reverse) >= 0).all()


def test_evaluation_is_cached_in_the_run_folder(trained_run) -> None:
    first = evaluate_run(trained_run)
    cache = trained_run.path / EVALUATION_FILE
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns
    again = evaluate_run(trained_run)
    assert cache.stat().st_mtime_ns == stamp  # read, not recomputed
    np.testing.assert_array_equal(again.probabilities, first.probabilities)
    cache.write_bytes(b"damaged")
    assert load_cached(trained_run) is None
    assert evaluate_run(trained_run).errors == first.errors


def test_test_set_alone_loads(real_mnist_dir: Path) -> None:
    images, labels = mnist.load_test_set(real_mnist_dir)
    assert images.shape == (10_000, 1, 28, 28) and labels[0].item() == 7
