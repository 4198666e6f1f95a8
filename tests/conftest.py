"""Shared fixtures. Tests marked `mnist` need the real, verified files and fail loudly."""

from __future__ import annotations

import sys

import pytest

from core.model import mnist


def pytest_report_header(config) -> str:
    """Which kernels this run's floats come from (tests/isa.py caps them for a second run)."""
    import os

    import torch

    knobs = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
    caps = {k: os.environ[k] for k in knobs if k in os.environ}
    return f"torch {torch.__version__}, CPU kernels {torch.backends.cpu.get_cpu_capability()}" + (
        f" (capped: {caps})" if caps else ""
    )


@pytest.fixture(scope="session")
def real_mnist_dir():
    """The verified MNIST data directory; a hard failure (never a skip) when it is not ready."""
    problems = [f"{c.file.name}: {c.problem}" for c in mnist.verify() if not c.ok]
    if problems:
        pytest.fail(
            "real MNIST is missing or corrupt (" + "; ".join(problems) + "): run `make data`",
            pytrace=False,
        )
    return mnist.default_data_dir()


@pytest.fixture(autouse=True)
def _pytest_stays_the_main_module():
    """Streamlit's script runner (AppTest) leaves the last page it ran as
    sys.modules["__main__"]; a later data-parallel test's spawn would then run that page in
    each worker it starts ("worker 1 exited with status 1 while starting"). Put pytest's back
    after every test: the order of the tests never matters."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
