"""Shared fixtures. Tests marked `mnist` need the real, verified files and fail loudly."""

from __future__ import annotations

import pytest

from core import data


@pytest.fixture(scope="session")
def real_mnist_dir():
    """The verified MNIST data directory; a hard failure (never a skip) when it is not ready."""
    problems = [f"{c.file.name}: {c.problem}" for c in data.verify() if not c.ok]
    if problems:
        pytest.fail(
            "real MNIST is missing or corrupt (" + "; ".join(problems) + "): run `make data`",
            pytrace=False,
        )
    return data.default_data_dir()
