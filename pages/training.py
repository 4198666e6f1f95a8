"""Training: launch runs and the lecture's learning-rate sweep, watch live curves, compare runs.

Every run is its own process (core/jobs.py); this page only reads the run folders, so a run
survives a refresh, a closed tab and a restart of the server.
"""

from __future__ import annotations

import math
import uuid

import pandas as pd
import streamlit as st

from core import jobs
from core.runs import RUN_ID_PATTERN, Run, default_runs_dir, list_runs
from core.train import LECTURE_TEST_RISK, MAX_EPOCHS, TrainConfig
from dashboard.charts import training_curves_figure
from dashboard.widgets import cached_metrics, mnist_problems

SUBSETS = {"all 58,976": None, "20,000": 20_000, "5,000 (quick demo)": 5_000, "1,000": 1_000}
LEARNING_RATES = ["0.1", "0.01", "1", "custom"]
SWEEP = (1.0, 0.1, 0.01)
REFRESH_SECONDS = 1.0
# Curves and the runs table refresh this often while training: redrawing them every second
# cost a training run on a 2-core machine about a third of its images/s
# (benchmarks/polling_cost.py); progress, images/s and ETA still update every second.
CHART_SECONDS = 5.0

st.title("Train LeNet-5")
st.markdown(
    "Mini-batch SGD on cross-entropy, batch size 64, 1,024 training images held out for"
    " validation. The weights of the epoch with the lowest validation error are kept and"
    " tested on the 10,000 test images. Runs train in their own process: close the tab and come"
    " back whenever you like."
)
if mnist_problems():
    st.error("MNIST is not ready: run `make run` or `python -m core.data fetch` first.")
    st.stop()

runs_root = default_runs_dir()

# ------------------------------------------------------------------ URL values, validated
params = st.query_params
url_problems: list[str] = []
preselected = [r for r in params.get_all("run") if r]
for run_id in list(preselected):
    if not RUN_ID_PATTERN.match(run_id) or not (runs_root / run_id / "config.json").is_file():
        url_problems.append(f"the link names run {run_id[:40]!r}, which does not exist")
        preselected.remove(run_id)
url_lr = params.get("lr")
if url_lr is not None:
    try:
        TrainConfig(lr=float(url_lr)).validate()
    except ValueError:
        url_problems.append(f"the link's learning rate {url_lr[:20]!r} is not a positive number")
        url_lr = None
for problem in url_problems:
    st.warning(f"Ignored part of the link: {problem}.")

# ------------------------------------------------------------------ launching
if "form_nonce" not in st.session_state:
    st.session_state.form_nonce = uuid.uuid4().hex


def submit(configs: list[TrainConfig]) -> None:
    """Start the runs, then rotate the form's key so a repeated click cannot start them again."""
    started = [jobs.submit(config, runs_root) for config in configs]
    st.session_state.form_nonce = uuid.uuid4().hex
    st.session_state.follow = [run.id for run in started]
    st.toast(f"Started {len(started)} run{'s' if len(started) > 1 else ''}", icon="🚀")


form_column, sweep_column = st.columns([3, 2], gap="large")
with form_column, st.form(key=f"new_run_{st.session_state.form_nonce}", border=True):
    st.subheader("New run")
    a, b, c = st.columns(3)
    lr_default = LEARNING_RATES.index("custom") if url_lr else 0
    lr_choice = a.selectbox(
        "Learning rate",
        LEARNING_RATES,
        index=lr_default,
        help="The lecture compares 1, 0.1 and 0.01 and picks 0.1.",
    )
    custom_lr = a.text_input(
        "Custom learning rate",
        value=url_lr or "0.05",
        help="Used when 'custom' is chosen; any positive number.",
    )
    epochs = b.number_input("Epochs", 1, MAX_EPOCHS, 20)
    subset_label = b.selectbox(
        "Training images", list(SUBSETS), index=0, help="A smaller subset makes a quick demo."
    )
    seed = c.number_input("Seed", 0, 2**31 - 1, 0)
    device = c.selectbox(
        "Device", ["auto", "cpu", "cuda", "mps"], help="auto = CUDA, then Apple MPS, then CPU"
    )
    with st.expander("Batch and validation sizes (the lecture's: 64 and 1,024)"):
        d, e = st.columns(2)
        batch_size = d.number_input("Batch size", 1, 8192, 64)
        validation_size = e.number_input("Validation images", 1, 30_000, 1024)
    clicked = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")

if clicked:
    problems: dict[str, str] = {}
    lr_text = custom_lr if lr_choice == "custom" else lr_choice
    try:
        lr = float(lr_text)
        if not math.isfinite(lr) or lr <= 0:
            raise ValueError
    except ValueError:
        problems["Learning rate"] = f"{lr_text!r} is not a positive, finite number"
        lr = 0.1
    config = TrainConfig(
        lr=lr,
        epochs=int(epochs),
        batch_size=int(batch_size),
        validation_size=int(validation_size),
        seed=int(seed),
        device=device,
        train_subset=SUBSETS[subset_label],
    )
    if not problems:
        try:
            config.validate()
            if device != "auto":
                from core.train import resolve_device

                resolve_device(device)
        except ValueError as error:
            problems["Settings"] = str(error)
    if problems:
        with form_column:
            for field, problem in problems.items():
                st.error(f"**{field}**: {problem}. Nothing was started.")
    else:
        submit([config])

with sweep_column:
    st.subheader("The lecture's learning-rate sweep")
    st.markdown(
        "One epoch each at α = 1, 0.1 and 0.01 on the full training set, curves overlaid."
        " The lecture's conclusion: **at α = 1 the loss does not go down** (it may even"
        " diverge), **α = 0.1 converges faster than α = 0.01**, so **0.1 is chosen**."
    )
    if st.button(
        "Reproduce the sweep",
        icon=":material/stacked_line_chart:",
        key=f"sweep_{st.session_state.form_nonce}",
    ):
        group = f"sweep-{uuid.uuid4().hex[:8]}"
        submit([TrainConfig(lr=lr, epochs=1, group=group) for lr in SWEEP])


# ------------------------------------------------------------------ live panel
def runs_frame(summaries: list[jobs.RunSummary]) -> pd.DataFrame:
    def number(value: float | None) -> float:
        return float("nan") if value is None else value  # an empty cell, not "None"

    return pd.DataFrame(
        {
            "run": [s.id for s in summaries],
            "status": [s.state for s in summaries],
            "lr": [s.lr for s in summaries],
            "epochs": [f"{s.epochs_done}/{s.epochs}" for s in summaries],
            "images": [s.train_images for s in summaries],
            "best val error": [number(s.best_val_error) for s in summaries],
            "test risk": [number(s.test_risk) for s in summaries],
            "vs lecture": [
                number(None if s.test_risk is None else s.test_risk - LECTURE_TEST_RISK)
                for s in summaries
            ],
            "duration (s)": [
                number(None if s.duration_s is None else round(s.duration_s)) for s in summaries
            ],
        }
    )


@st.dialog("Delete run?")
def confirm_delete(run_id: str) -> None:
    st.write(f"Run **{run_id}** and its checkpoints will be deleted. This cannot be undone.")
    left, right = st.columns(2)
    if left.button("Delete", type="primary", key="confirm_delete"):
        try:
            jobs.delete(Run(runs_root / run_id))
        except (ValueError, OSError) as error:
            st.error(str(error))
            return
        st.rerun()
    if right.button("Cancel", key="cancel_delete"):
        st.rerun()


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def read_summaries() -> list[jobs.RunSummary]:
    summaries = []
    for run in list_runs(runs_root):
        try:
            summaries.append(jobs.summarize(run, cached_metrics(run)))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a folder being created or deleted right now
    return summaries


def progress_panel() -> None:
    """Every second while runs are active: progress, images/s, ETA and Stop."""
    summaries = [s for s in read_summaries() if s.state in ("queued", "running")]
    if not summaries and st.session_state.get("was_active"):
        st.session_state.was_active = False
        st.rerun()  # a full rerun: the results are final and the page stops polling
    st.session_state.was_active = bool(summaries)
    for summary in summaries:
        label = f"**{summary.id}** (lr {summary.lr:g})"
        if summary.state == "queued":
            st.markdown(f"{label}: queued, waiting for a free slot")
            continue
        text_column, stop_column = st.columns([6, 1])
        epoch_now = min(summary.epochs_done + 1, summary.epochs)
        filled = round(summary.progress * 30)
        speed = "-" if not summary.images_per_second else f"{summary.images_per_second:,.0f}"
        # Plain text, not st.progress and st.metric: the browser redraws it every second, and
        # on a 2-core machine that drawing is taken from the training run.
        text_column.markdown(
            f"{label}: epoch {epoch_now}/{summary.epochs}, batch"
            f" {summary.batch_in_epoch}/{summary.batches_per_epoch}  \n"
            f"`{'█' * filled}{'░' * (30 - filled)}` {summary.progress:.0%} · {speed} images/s"
            f" · ETA {format_seconds(summary.eta_s)}"
        )
        if stop_column.button("Stop", key=f"stop_{summary.id}", icon=":material/stop:"):
            jobs.stop(Run(runs_root / summary.id))
            st.toast(f"Stopping {summary.id} after its current batch")


def results_panel() -> None:
    """Curves, results and the runs table; every CHART_SECONDS while runs are active."""
    summaries = read_summaries()
    active = [s for s in summaries if s.state in ("queued", "running")]
    if not summaries:
        st.info(
            "No runs yet: start one above. A quick demo (5,000 images, 3 epochs) takes"
            " about half a minute on a laptop."
        )
        return

    # Which runs to draw: the table's selection, else what was just started, else the newest.
    frame = runs_frame(summaries)
    selection = st.session_state.get("runs_table", {}).get("selection", {}).get("rows", [])
    chosen = [summaries[i].id for i in selection if i < len(summaries)]
    if not chosen:
        followed = [r for r in st.session_state.get("follow", []) if r in frame["run"].values]
        chosen = followed or preselected or [s.id for s in active] or [summaries[0].id]

    by_id = {s.id: s for s in summaries}
    groups = {by_id[r].group for r in chosen if r in by_id and by_id[r].group}
    smoothing = st.session_state.get("smoothing", 0.6)
    log_loss = st.session_state.get("log_loss", True)
    curves = []
    for run_id in chosen:
        summary = by_id.get(run_id)
        if summary is None:
            continue
        records = cached_metrics(Run(runs_root / run_id))
        label = f"lr {summary.lr:g}" if groups else f"{run_id[-4:]} lr {summary.lr:g}"
        curves.append((label, summary.batches_per_epoch, records))
    if curves:
        st.plotly_chart(
            training_curves_figure(curves, smoothing, log_loss),
            key="curves",
            config={"displayModeBar": False},
        )
    for run_id in chosen:
        summary = by_id.get(run_id)
        if summary is None:
            continue
        if summary.test_risk is not None:
            st.success(
                f"**{run_id}**: test risk **{summary.test_risk:.4f}** (accuracy"
                f" {1 - summary.test_risk:.2%}) with the weights of epoch"
                f" {summary.best_epoch} of {summary.epochs}; the lecture reports"
                f" {LECTURE_TEST_RISK} after 20 epochs on all 58,976 images."
            )
        elif summary.state in ("diverged", "crashed", "failed"):
            st.error(f"**{run_id}** {summary.state}: {summary.message}")
        elif summary.state == "stopped":
            st.warning(
                f"**{run_id}** stopped after {summary.epochs_done} of {summary.epochs} epochs:"
                " select it in the table below to resume it."
            )
    if groups:
        st.caption(
            "Sweep: at α = 1 the loss stays near ln 10 ≈ 2.30 (chance) or diverges;"
            " α = 0.1 goes down faster than α = 0.01, so 0.1 is chosen."
        )

    st.subheader("Runs")
    st.caption("Select rows to overlay their curves.")
    st.dataframe(
        frame,
        key="runs_table",
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        column_config={
            "lr": st.column_config.NumberColumn(format="%g"),
            "best val error": st.column_config.NumberColumn(format="%.4f"),
            "test risk": st.column_config.NumberColumn(format="%.4f"),
            "vs lecture": st.column_config.NumberColumn(format="%+.4f", help="test risk − 0.0091"),
        },
    )
    if len(chosen) == 1 and chosen[0] in by_id:
        summary = by_id[chosen[0]]
        left, middle, right = st.columns(3)
        if summary.state in ("stopped", "crashed", "failed") and left.button(
            "Resume", key=f"resume_{summary.id}", icon=":material/play_arrow:"
        ):
            try:
                jobs.resume(Run(runs_root / summary.id))
                st.session_state.follow = [summary.id]
                st.rerun()
            except ValueError as error:
                st.error(str(error))
        if summary.state not in ("queued", "running") and right.button(
            "Delete", key=f"delete_{summary.id}", icon=":material/delete:"
        ):
            confirm_delete(summary.id)


# While runs are active this page reruns every second; in a browser on the same 2-core machine
# the "running" indicator and fade animations cost the training run a few percent of its speed.
st.html(
    "<style>[data-testid='stStatusWidget']{display:none}"
    " *{transition:none!important;animation:none!important}</style>"
)
controls = st.columns([2, 1, 3])
controls[0].slider("Smoothing of the batch loss", 0.0, 0.99, 0.6, 0.01, key="smoothing")
controls[1].toggle("Log scale", True, key="log_loss")

# Poll only while something is queued or running; an idle page sends nothing.
any_active = any(jobs.is_active(r) for r in list_runs(runs_root))
controls[2].caption(
    f"Live: refreshing every {REFRESH_SECONDS:g} s (curves every {CHART_SECONDS:g} s)"
    " while runs are active."
    if any_active
    else "Idle: nothing is running, so the page is not refreshing."
)
st.fragment(progress_panel, run_every=REFRESH_SECONDS if any_active else None)()
st.fragment(results_panel, run_every=CHART_SECONDS if any_active else None)()
