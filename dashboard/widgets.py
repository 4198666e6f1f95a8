"""Shared Streamlit widgets and cached data access for the pages."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.i18n import _, language
from core.model import mnist


def _data_signature() -> tuple:
    """Changes whenever a data file changes, so the cached verification is redone."""
    directory = mnist.raw_dir()
    signature = []
    for file in mnist.MNIST_FILES:
        path = directory / file.name
        stat = path.stat() if path.exists() else None
        signature.append(
            (file.name, stat.st_size if stat else None, stat.st_mtime_ns if stat else None)
        )
    return tuple(signature)


@st.cache_data(show_spinner=False)
def _verified(signature: tuple, language: str) -> list[tuple[str, str | None]]:
    """Each file's problem, in `language` (the problems are text; the current language is the
    caller's, passed so that each language has its own cached entry)."""
    return [(check.file.name, check.problem) for check in mnist.verify()]


def mnist_problems() -> list[str]:
    """Empty when all four MNIST files are present and verified; else one line per bad file."""
    with st.spinner(_("Verifying MNIST checksums ...")):
        checks = _verified(_data_signature(), language())
    return [f"{name}: {problem}" for name, problem in checks if problem]


@st.cache_resource(show_spinner=False)
def _test_digits(signature: tuple) -> tuple[np.ndarray, np.ndarray]:
    from torchvision.datasets.mnist import read_image_file, read_label_file

    directory = mnist.raw_dir()
    images = read_image_file(str(directory / "t10k-images-idx3-ubyte")).numpy()
    labels = read_label_file(str(directory / "t10k-labels-idx1-ubyte")).numpy()
    return images, labels


def mnist_test_digits() -> tuple[np.ndarray, np.ndarray] | None:
    """The 10,000 test digits (uint8 [N, 28, 28]) and labels, or None when MNIST is not ready."""
    if mnist_problems():
        return None
    with st.spinner(_("Loading MNIST test digits ...")):
        return _test_digits(_data_signature())


def digit_strip(images: np.ndarray, scale: int = 3, gap: int = 4) -> np.ndarray:
    """Lay digits side by side on white, dark ink, enlarged: one uint8 picture."""
    count, height, width = images.shape
    enlarged = images.repeat(scale, axis=1).repeat(scale, axis=2)
    strip = np.full((height * scale, count * (width * scale + gap) - gap), 255, dtype=np.uint8)
    for index in range(count):
        left = index * (width * scale + gap)
        strip[:, left : left + width * scale] = 255 - enlarged[index]
    return strip


def mnist_status_panel() -> None:
    """A short line that says whether the real MNIST is here, and how to fix it if not."""
    problems = mnist_problems()
    if problems:
        st.warning(
            _(
                "MNIST is not ready: {problems}. Run `python -m core.model.mnist fetch` (or"
                " `make run`) to fetch and verify it."
            ).format(problems="; ".join(problems))
        )
        return
    st.success(
        _("MNIST: all four files present, sizes and MD5 checksums verified."),
        icon=":material/verified:",
    )


_metrics_cache: dict[str, tuple[tuple[int, int], list[dict]]] = {}


def cached_metrics(run) -> list[dict]:
    """A run's metrics, re-read only when its log file changed (size or mtime)."""
    try:
        stat = run.metrics_path.stat()
    except FileNotFoundError:
        return []
    signature = (stat.st_size, stat.st_mtime_ns)
    key = str(run.metrics_path)
    hit = _metrics_cache.get(key)
    if hit is None or hit[0] != signature:
        hit = (signature, run.read_metrics())
        _metrics_cache[key] = hit
    return hit[1]


def finished_run_ids(empty_message: str, state_key: str) -> list[str]:
    """Ids of the completed runs that have a best checkpoint, newest first, with the link's
    `?run=` (validated) chosen in `st.session_state[state_key]` the first time.

    With no finished run, shows `empty_message`, a link to the training page, and stops."""
    from core.runs.store import RUN_ID_PATTERN, default_runs_dir, list_runs
    from dashboard.site import TRAINING
    from dashboard.text import plain

    def finished(run) -> bool:
        try:  # a damaged run is listed (and can be deleted) on the training page only
            return run.read_status()["state"] == "completed" and run.has_checkpoint("best")
        except (OSError, ValueError):
            return False

    ids = [run.id for run in list_runs(default_runs_dir()) if finished(run)]
    if not ids:
        st.info(empty_message)
        st.markdown(_("[Go to the training page](/{page})").format(page=TRAINING.url_path))
        st.stop()
    wanted = st.query_params.get("run")
    if wanted is not None and (not RUN_ID_PATTERN.match(wanted) or wanted not in ids):
        st.warning(
            _("Ignored the link's run {run}: no finished run has that name.").format(
                run=plain(repr(wanted[:40]))
            )
        )
        wanted = None
    if state_key not in st.session_state or st.session_state[state_key] not in ids:
        st.session_state[state_key] = wanted or ids[0]  # the newest by default
    return ids


BEST = "best"


def epoch_picker(run, key: str) -> int | None:
    """A slider through the weights the run kept after each epoch (0: the random start), or
    "best" (the epoch chosen by validation error). Returns the epoch, or None for the best.

    Runs made before epochs were kept have no slider."""
    from core.training.saved import load_config
    from dashboard.text import plain

    epochs = run.snapshot_epochs()
    if not epochs:
        return None
    try:
        best = (run.read_test() or {}).get("best_epoch")
        total = load_config(run).epochs
    except ValueError:
        best, total = None, max(epochs)
    try:  # the epochs it trained: the status counts them as they are checkpointed
        done = run.read_status().get("epoch")
    except ValueError:
        done = None
    done = done if isinstance(done, int) and not isinstance(done, bool) else max(epochs)
    gone = [epoch for epoch in range(max(done, max(epochs)) + 1) if epoch not in epochs]
    if gone:
        from core.runs.store import epoch_span

        st.warning(
            (
                _(
                    "This run's weights after epochs {epochs} are gone from its folder (epochs/),"
                    " so those epochs cannot be shown; the slider offers the others."
                )
                if len(gone) > 1
                else _(
                    "This run's weights after epoch {epochs} are gone from its folder (epochs/),"
                    " so those epochs cannot be shown; the slider offers the others."
                )
            ).format(epochs=epoch_span(gone))
        )
    options = [BEST, *epochs]
    if key not in st.session_state or st.session_state[key] not in options:
        wanted = st.query_params.get("epoch")
        kept = wanted in [str(e) for e in epochs]
        if wanted is not None and not kept:
            st.warning(
                _(
                    "Ignored the link's epoch {epoch}: this run kept the weights of epochs"
                    " {first} to {last}; showing the best epoch's instead."
                ).format(epoch=plain(repr(wanted[:12])), first=epochs[0], last=epochs[-1])
            )
        st.session_state[key] = int(wanted) if kept else BEST
    choice = st.select_slider(
        _("Weights after epoch"),
        options,
        key=key,
        format_func=lambda e: _("best (epoch {epoch})").format(epoch=best) if e == BEST else str(e),
        help=_(
            "Scrub through training: the weights kept after each epoch, 0 being the random"
            " start ({done} of {total} epochs trained). The best epoch was chosen on the"
            " validation set only; the test digits shown here never influenced it."
        ).format(done=len(epochs) - 1, total=total),
    )
    if choice == BEST:
        st.query_params.pop("epoch", None)
        return None
    st.query_params["epoch"] = str(choice)
    return int(choice)
