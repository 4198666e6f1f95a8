"""Training: launch runs and the lecture's learning-rate sweep, watch live curves, compare runs.

Every run is its own process (core/training/jobs.py); this page only reads the run folders, so a run
survives a refresh, a closed tab and a restart of the server.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from core.i18n import N_, _
from core.runs.owners import owner_of
from core.runs.store import RUN_ID_PATTERN, Run, default_runs_dir, list_runs
from core.training import jobs
from core.training.config import LECTURE_TEST_RISK, PLATEAU_STEPS, QUICK_DEMO, TrainConfig
from core.training.ray_jobs import ray_address
from core.training.steps import scheduled
from dashboard.charts import (
    learning_rate_figure,
    learning_rate_text,
    training_curves_figure,
    training_curves_text,
)
from dashboard.classroom_mode import classroom, teacher_sign_in
from dashboard.described import chart
from dashboard.text import plain
from dashboard.training.cluster import CLUSTER_SECONDS, cluster_panel
from dashboard.training.form import apply_link, new_run_form
from dashboard.widgets import cached_metrics, mnist_problems

SWEEP = (1.0, 0.1, 0.01)
# While runs are active, progress, images/s and ETA refresh every REFRESH_SECONDS; the curves
# and the runs table every CHART_SECONDS. On a 2-core machine the browser's work is taken from
# the training run (benchmarks/polling_cost.py): every fragment run re-renders much of the app
# in the tab (~30 ms of its main thread even for one line of text in this multipage app,
# ~60 ms for the progress panel) and every redraw of the curves takes plotly 100-250 ms. At
# 1 s and 5 s the tab was busy 131 ms a second and a run lost 7.7% of its images/s; at 2 s and
# 10 s, 62-79 ms a second and 4.4-6.3% (medians, same session, 2026-11-27).
REFRESH_SECONDS = 2.0
CHART_SECONDS = 10.0
# The runs table's columns, as a student reads them (the frame itself keeps the English names).
COLUMN_NAMES = {
    "run": N_("run"),
    "by": N_("by"),
    "status": N_("status"),
    "lr": "lr",
    "epochs": N_("epochs"),
    "images": N_("images"),
    "val error": N_("val error"),
    "test risk": N_("test risk"),
    "vs lecture": N_("vs lecture"),
    "time": N_("time"),
}

st.title(_("Train LeNet-5"))
st.markdown(
    _(
        "Mini-batch SGD on cross-entropy, batch size 64, 1,024 training images held out for"
        " validation. The weights of the epoch with the lowest validation error are kept and"
        " tested on the 10,000 test images. Runs train in their own process: close the tab and come"
        " back whenever you like."
    )
)
if mnist_problems():
    st.error(_("MNIST is not ready: run `make run` or `python -m core.model.mnist fetch` first."))
    st.stop()

runs_root = default_runs_dir()
settings = classroom()
viewer = teacher_sign_in()
# A student in classroom mode: limited runs at a time, other browsers' runs are read-only.
student = settings.enabled and not viewer.teacher
run_limit = settings.runs_per_student if student else None
# $CNN_RAY_ADDRESS (the classroom start's --ray): runs train on that Ray cluster.
ray_cluster = ray_address()
shared = (
    _("the class trains on a cluster of machines (Ray), as many runs at once as it has room for")
    if ray_cluster
    else _("the class shares this machine, one run after another")
)
if settings.enabled:
    if not student:
        classroom_note = _("Classroom, teacher's view: every run, with Stop, Resume and Delete.")
    elif settings.runs_per_student == 1:
        classroom_note = _(
            "Classroom: you may have 1 run queued or training at a time; {shared}. Runs started"
            " from other browsers are shown read-only."
        ).format(shared=shared)
    else:
        classroom_note = _(
            "Classroom: you may have {count} runs queued or training at a time; {shared}. Runs"
            " started from other browsers are shown read-only."
        ).format(count=settings.runs_per_student, shared=shared)
    st.info(classroom_note, icon=":material/groups:")

# ------------------------------------------------------------------ URL values, validated
params = st.query_params
url_problems: list[str] = []
preselected = [r for r in params.get_all("run") if r]
for run_id in list(preselected):
    if not RUN_ID_PATTERN.match(run_id) or not (runs_root / run_id / "config.json").is_file():
        url_problems.append(
            _("the link names run {run_id}, which does not exist").format(run_id=plain(run_id[:40]))
        )
        preselected.remove(run_id)
url_problems += apply_link(params)
for problem in url_problems:
    st.warning(_("Ignored part of the link: {problem}.").format(problem=problem))


# ------------------------------------------------------------------ reading the runs
def read_summaries() -> list[jobs.RunSummary]:
    """One row per run folder; a damaged folder is a `damaged` row, never a missing one."""
    if settings.enabled:
        return class_snapshot(str(runs_root))[0]
    return summaries_of(runs_root)


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=2)
def class_snapshot(root: str) -> tuple[list, dict, dict]:
    """In classroom mode every student's page polls every 2 s while the class trains:
    the runs, the queue and who owns what are read once a second for all of them, not once
    per student. A student's own action clears it (`changed`), so they see it at once."""
    summaries = summaries_of(Path(root))
    owners = {s.id: owner_of(Run(Path(root) / s.id)) for s in summaries}
    return summaries, compute_queue_places(summaries), owners


def changed() -> None:
    """This session started, stopped, resumed or deleted a run."""
    class_snapshot.clear()


def run_owner(run_id: str) -> str | None:
    if settings.enabled:
        return class_snapshot(str(runs_root))[2].get(run_id)
    return owner_of(Run(runs_root / run_id))


def may_manage(run_id: str) -> bool:
    """Whether this browser may stop, resume or delete the run (classroom mode)."""
    if not settings.enabled or viewer.teacher:
        return True  # without reading who owns it
    return viewer.may_manage_owned_by(run_owner(run_id))


def summaries_of(root: Path) -> list[jobs.RunSummary]:
    summaries = []
    for run in list_runs(root):
        try:
            summaries.append(jobs.summarize(run, cached_metrics(run)))
        except FileNotFoundError:
            continue  # deleted between the listing and the reading
        except OSError as error:
            summaries.append(
                jobs.RunSummary(
                    run.id,
                    "damaged",
                    _("the folder cannot be read ({error})").format(error=error),
                )
            )
    return summaries


def queue_places(summaries: list[jobs.RunSummary]) -> dict[str, tuple[int, float | None]]:
    if settings.enabled:
        return class_snapshot(str(runs_root))[1]
    return compute_queue_places(summaries)


def compute_queue_places(
    summaries: list[jobs.RunSummary],
) -> dict[str, tuple[int, float | None]]:
    """Place in the queue and estimated start of every queued run."""
    if not any(s.state == "queued" for s in summaries):
        return {}  # the page polls every 2 s: read the queue only when there is one
    by_id = {s.id: s for s in summaries}
    order = [by_id[run.id] for run in jobs.queue_order(runs_root) if run.id in by_id]
    running = [s for s in summaries if s.state in ("running", "stalled")]
    return jobs.estimated_starts(running, order, jobs.max_parallel(), jobs.typical_speed(summaries))


# ------------------------------------------------------------------ launching
if "form_nonce" not in st.session_state:
    st.session_state.form_nonce = uuid.uuid4().hex


def submit(configs: list[TrainConfig]) -> None:
    """Start the runs, then rotate the form's key so a repeated click cannot start them again."""
    try:
        started = jobs.submit_all(configs, runs_root, owner=viewer.owner, limit=run_limit)
    except (OSError, ValueError) as error:
        st.error(_("Nothing was started: {error}").format(error=plain(error)))
        return
    changed()
    st.session_state.form_nonce = uuid.uuid4().hex
    st.session_state.follow = [run.id for run in started]
    # Rerun at once, so the page shows the buttons under their new keys: a click on the old
    # ones would be lost without a word. The toast is shown by that rerun.
    st.session_state.pending_toast = (
        _("Started {count} runs").format(count=len(started))
        if len(started) > 1
        else _("Started 1 run")
    )
    st.rerun()


if pending_toast := st.session_state.pop("pending_toast", None):
    st.toast(pending_toast, icon="🚀")


new_config = new_run_form(st.session_state.form_nonce)
if new_config is not None:
    submit([new_config])

quick_column, sweep_column = st.columns(2, gap="large")
with quick_column:
    st.subheader(_("Quick demo"))
    st.markdown(
        _(
            "One epoch on {images:,} images: a few seconds of training, and the test risk "
            "falls from 90% (chance) to about 4%. Shorter runs show less: at α = 0.1 the loss "
            "sits on a plateau near ln 10 ≈ 2.30 for the first ~{plateau} steps, so a run "
            "of a few dozen batches ends where it started."
        ).format(images=QUICK_DEMO["train_subset"], plateau=PLATEAU_STEPS)
    )
    if st.button(
        _("Quick demo"),
        icon=":material/bolt:",
        key=f"quick_{st.session_state.form_nonce}",
    ):
        submit([TrainConfig(**QUICK_DEMO)])
with sweep_column:
    st.subheader(_("The lecture's learning-rate sweep"))
    st.markdown(
        _(
            "One epoch each at α = 1, 0.1 and 0.01 on the full training set, curves overlaid."
            " The lecture's conclusion: **at α = 1 the loss does not go down** (it may even"
            " diverge), **α = 0.1 converges faster than α = 0.01**, so **0.1 is chosen**."
        )
    )
    sweep_too_big = run_limit is not None and run_limit < len(SWEEP)
    if st.button(
        _("Reproduce the sweep"),
        icon=":material/stacked_line_chart:",
        key=f"sweep_{st.session_state.form_nonce}",
        disabled=sweep_too_big,
        help=_("The sweep starts {count} runs; this class allows {limit} per student.").format(
            count=len(SWEEP), limit=run_limit
        )
        if sweep_too_big
        else None,
    ):
        group = f"sweep-{uuid.uuid4().hex[:8]}"
        submit([TrainConfig(lr=lr, epochs=1, group=group) for lr in SWEEP])


# ------------------------------------------------------------------ live panel
def empty(value: float | None, text: str) -> str:
    return "" if value is None else text


def runs_frame(summaries: list[jobs.RunSummary]) -> pd.DataFrame:
    """The runs table. Empty cells are empty text (a NaN shows as a grey 'None')."""
    rows = []
    for s in summaries:
        delta = None if s.test_risk is None else s.test_risk - LECTURE_TEST_RISK
        rows.append(
            {
                "run": s.id,
                "status": _("{state} · files missing").format(state=jobs.state_name(s.state))
                if s.missing
                else jobs.state_name(s.state),
                "lr": empty(s.lr, f"{s.lr:g}" if s.lr is not None else ""),
                "epochs": "" if s.damaged else f"{s.epochs_done}/{s.epochs}",
                "images": empty(s.train_images, f"{s.train_images or 0:,}"),
                "val error": empty(s.best_val_error, f"{s.best_val_error or 0:.4f}"),
                "test risk": empty(s.test_risk, f"{s.test_risk or 0:.4f}"),
                "vs lecture": empty(delta, f"{delta or 0:+.4f}"),
                "time": ""
                if s.state == "queued"
                else empty(s.duration_s, format_seconds(s.duration_s)),
            }
        )
        if settings.enabled:
            # Second, not last: at 1000 px the last columns scroll out of sight.
            row = rows.pop()
            rows.append({"run": row.pop("run"), "by": who(run_owner(s.id)), **row})
    return pd.DataFrame(rows)


def who(owner: str | None) -> str:
    """The runs table's "by": you, the teacher (no owner), or a student by a short tag that
    tells students apart without showing their cookie."""
    if owner is None:
        return _("teacher")
    if owner == viewer.owner:
        return _("you")
    return _("student {tag}").format(tag=hashlib.sha256(owner.encode()).hexdigest()[:4])


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def delete_controls(run_id: str, key: str, column=None) -> None:
    """Delete, then an inline confirmation (nothing is deleted by a single click)."""
    where = column or st
    pending = st.session_state.get("confirm_delete")
    if pending != run_id:
        if where.button(_("Delete"), key=f"delete_{key}_{run_id}", icon=":material/delete:"):
            st.session_state.confirm_delete = run_id
            st.rerun()
        return
    st.warning(
        _("Delete run **{run_id}** and its checkpoints? This cannot be undone.").format(
            run_id=plain(run_id)
        )
    )
    yes, no, _spare = st.columns([1, 1, 4])
    if yes.button(_("Delete for good"), type="primary", key=f"confirm_{key}_{run_id}"):
        st.session_state.confirm_delete = None
        try:
            jobs.delete(Run(runs_root / run_id), viewer)
        except (ValueError, OSError) as error:
            st.error(_("Could not delete it: {error}").format(error=plain(error)))
            return
        changed()
        st.toast(_("Deleted {run_id}").format(run_id=run_id))
        st.rerun()
    if no.button(_("Cancel"), key=f"cancel_{key}_{run_id}"):
        st.session_state.confirm_delete = None
        st.rerun()


def progress_panel() -> None:
    """Every second while runs are active: progress, images/s, ETA, Stop (and Delete for a
    queued run); for a queued run its place in the queue and when it should start."""
    all_summaries = read_summaries()
    summaries = [s for s in all_summaries if s.active]
    if not summaries and st.session_state.get("was_active"):
        st.session_state.was_active = False
        st.rerun()  # a full rerun: the results are final and the page stops polling
    st.session_state.was_active = bool(summaries)
    waiting = st.session_state.get("curves_waiting", [])
    if any(s.id in waiting and s.batches_done for s in summaries):
        st.session_state.curves_waiting = []
        st.rerun()  # the curves were drawn empty and the run has now logged its first batches
    queue = queue_places(all_summaries)
    # What trains first, then the queue in the order it will train.
    shown = sorted(summaries, key=lambda s: queue.get(s.id, (0, None))[0])
    if student:
        # A class's queue can be long: a student sees what trains now and their own runs.
        own = mine(summaries)
        shown = [s for s in shown if s.state in ("running", "stalled") or s.id in own]
        others = len(summaries) - len(shown)
        if others:
            st.caption(
                _("{count} more runs queued by other students.").format(count=others)
                if others != 1
                else _("1 more run queued by other students.")
            )
    for summary in shown:
        run = Run(runs_root / summary.id)
        label = f"**{summary.id}** (lr {summary.lr:g})"
        if settings.enabled and run_owner(summary.id) == viewer.owner:
            label += " · " + _("yours")
        text_column, button_column = st.columns([3, 1], vertical_alignment="center")
        buttons = button_column.container(horizontal=True, horizontal_alignment="right")
        if summary.state == "queued" and (summary.message or "").startswith("queued on Ray"):
            text_column.markdown(f"{label}: {plain(summary.message)}")  # Ray's queue, its place
        elif summary.state == "queued":
            text_column.markdown(f"{label}: {queue_text(queue.get(summary.id))}")
        elif summary.state == "stalled":
            text_column.warning(f"{label}: {plain(summary.message or jobs.state_name('stalled'))}")
        elif summary.batches_done == 0:
            text_column.markdown(f"{label}: {summary.progress_text()}")
        else:
            filled = round(summary.progress * 30)
            speed = "-" if not summary.images_per_second else f"{summary.images_per_second:,.0f}"
            # Plain text, not st.progress and st.metric: the browser redraws it every 2 s,
            # and on a 2-core machine that drawing is taken from the training run.
            text_column.markdown(
                f"{label}: {summary.progress_text()}  \n"
                f"`{'█' * filled}{'░' * (30 - filled)}` "
                + _("{percent:.0%} · {speed} images/s · ETA {eta}").format(
                    percent=summary.progress, speed=speed, eta=format_seconds(summary.eta_s)
                )
                + heartbeat_text(summary.heartbeat_age_s)
            )
        if not may_manage(summary.id):
            continue  # another student's run: read-only
        if buttons.button(_("Stop"), key=f"stop_{summary.id}", icon=":material/stop:"):
            try:
                jobs.stop(run, viewer)
            except ValueError as error:
                st.error(_("Could not stop it: {error}").format(error=plain(error)))
            else:
                changed()
                when = {
                    "queued": N_("Stopping {run_id} before it starts"),
                    "stalled": N_(
                        "Stopping {run_id}: it was not answering, so it was ended; resume it"
                        " from its last checkpoint"
                    ),
                }
                stopping = when.get(summary.state, N_("Stopping {run_id} after its batch"))
                st.toast(_(stopping).format(run_id=summary.id))
        if summary.state == "queued":
            delete_controls(summary.id, "queued", buttons)


def heartbeat_text(age: float | None) -> str:
    """How long ago the trainer last showed progress, once that is worth saying."""
    if age is None or age < 5:
        return ""
    return " · " + _("no progress for {duration}").format(duration=format_seconds(age))


def mine(summaries: list[jobs.RunSummary]) -> set[str]:
    """The ids of this browser's runs among these (classroom mode)."""
    return {s.id for s in summaries if run_owner(s.id) == viewer.owner}


def queue_text(place: tuple[int, float | None] | None) -> str:
    if place is None:
        return _("queued, waiting for a free slot")
    position, seconds = place
    where = (
        _("next in the queue")
        if position == 1
        else _("number {position} in the queue").format(position=position)
    )
    if seconds is None:
        return _(
            "queued: {where}; the start time is known once a run has measured its speed"
        ).format(where=where)
    if seconds < 1:
        return _("queued: {where}, starting now").format(where=where)
    return _("queued: {where}, starts in about {duration}").format(
        where=where, duration=format_seconds(seconds)
    )


def result_message(summary: jobs.RunSummary) -> None:
    run_id = summary.id
    if summary.test_risk is not None:
        st.success(
            _(
                "**{run_id}**: test risk **{test_risk:.4f}** (accuracy {accuracy:.2%}) with the "
                "weights of epoch {best_epoch} of {epochs}; the lecture reports "
                "{lecture_risk} after 20 epochs on all 58,976 images."
            ).format(
                run_id=run_id,
                test_risk=summary.test_risk,
                accuracy=1 - summary.test_risk,
                best_epoch=summary.best_epoch,
                epochs=summary.epochs,
                lecture_risk=LECTURE_TEST_RISK,
            )
        )
        if summary.epochs * summary.batches_per_epoch < PLATEAU_STEPS:
            st.info(
                _(
                    "This run took {steps} steps: fewer than the ~{plateau} the loss spends "
                    "on its plateau at α = 0.1, so it has not started to learn yet. Try the quick "
                    "demo, or more images or epochs."
                ).format(steps=summary.epochs * summary.batches_per_epoch, plateau=PLATEAU_STEPS)
            )
    elif summary.state in ("diverged", "crashed", "failed", "damaged"):
        st.error(
            _("**{run_id}** {state}: {message}").format(
                run_id=run_id,
                state=jobs.state_name(summary.state),
                message=plain(summary.message or ""),
            )
        )
    elif summary.state == "stopped":
        st.warning(
            _(
                "**{run_id}** stopped after {epochs_done} of {epochs} epochs: select it in the "
                "table below to resume it."
            ).format(run_id=run_id, epochs_done=summary.epochs_done, epochs=summary.epochs)
        )


def results_panel() -> None:
    """Curves, results and the runs table; every CHART_SECONDS while runs are active."""
    summaries = read_summaries()
    if not summaries:
        st.info(
            _(
                "No runs yet: start one above. The quick demo (one epoch on 40,000 images) learns"
                " in a few seconds of training."
            )
        )
        return
    healthy = [s for s in summaries if not s.damaged]
    active = [s for s in healthy if s.active]

    # Which runs to draw: the table's selection, else what was just started, else the newest.
    frame = runs_frame(summaries)
    selection = st.session_state.get("runs_table", {}).get("selection", {}).get("rows", [])
    chosen = [summaries[i].id for i in selection if i < len(summaries)]
    if not chosen:
        followed = [r for r in st.session_state.get("follow", []) if r in frame["run"].values]
        chosen = (
            followed
            or preselected
            or [s.id for s in active]
            or [s.id for s in healthy if s.batches_done or s.test_risk is not None][:1]
            or [s.id for s in healthy[:1]]
            or [summaries[0].id]
        )

    by_id = {s.id: s for s in summaries}
    groups = {by_id[r].group for r in chosen if r in by_id and by_id[r].group}
    smoothing = st.session_state.get("smoothing", 0.6)
    log_loss = st.session_state.get("log_loss", True)
    curves = []
    for run_id in chosen:
        summary = by_id.get(run_id)
        if summary is None or summary.damaged:
            continue
        records = cached_metrics(Run(runs_root / run_id))
        label = f"lr {summary.lr:g}" if groups else f"{run_id[-4:]} lr {summary.lr:g}"
        curves.append((label, summary.batches_per_epoch, records))
    # Drawn before their first logged batch: the progress panel redraws the page as soon as
    # one has some, instead of leaving "no batches logged yet" up for a whole CHART_SECONDS.
    st.session_state.curves_waiting = [
        r for r in chosen if r in by_id and not by_id[r].batches_done
    ]
    if curves:
        summary, table = training_curves_text(curves)
        chart(
            training_curves_figure(curves, smoothing, log_loss),
            summary=summary,
            table=table,
            key="curves",
            config={"displayModeBar": False},
        )
    configs = [
        (f"{run_id[-4:]} lr {by_id[run_id].lr:g}", by_id[run_id].config)
        for run_id in chosen
        if run_id in by_id and by_id[run_id].config is not None
    ]
    if any(scheduled(config) for _label, config in configs):
        chart(
            learning_rate_figure(configs),
            summary=learning_rate_text(configs),
            key="learning_rates",
            config={"displayModeBar": False},
        )
        st.caption(
            _(
                "Why a schedule needs fewer steps: a high rate early crosses the loss plateau and"
                " moves far, a rate that falls to almost 0 at the end settles into the minimum"
                " instead of bouncing around it, and (Nesterov) momentum averages the noisy batch"
                " gradients, so a larger batch can take a larger step. The lecture's constant"
                " 0.1 for 20 epochs spends most of its steps bouncing at one rate."
            )
        )
    for run_id in chosen:
        if run_id in by_id:
            result_message(by_id[run_id])
    if groups:
        st.caption(
            _(
                "Sweep: at α = 1 the loss stays near ln 10 ≈ 2.30 (chance) or diverges;"
                " α = 0.1 goes down faster than α = 0.01, so 0.1 is chosen."
            )
        )

    st.subheader(_("Runs"))
    st.caption(_("Select rows to overlay their curves."))
    st.dataframe(
        frame.rename(columns=lambda column: _(COLUMN_NAMES.get(column, column))),
        key="runs_table",
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        column_config={
            # Pinned: at 1000 px the last columns scroll sideways, the run stays in sight.
            _("run"): st.column_config.TextColumn(width="medium", pinned=True),
            _("val error"): st.column_config.TextColumn(help=_("best validation error")),
            _("vs lecture"): st.column_config.TextColumn(
                help=_("test risk − {risk}").format(risk=LECTURE_TEST_RISK)
            ),
            _("time"): st.column_config.TextColumn(help=_("minutes:seconds, start to end")),
        },
    )
    damaged = [s for s in summaries if s.damaged]
    for summary in damaged:
        with st.container(border=True):
            text, button = st.columns([4, 1], vertical_alignment="center")
            text.markdown(
                _(
                    "**{run_id}** is damaged and cannot be shown: {reason}. Delete it, or repair "
                    "the file by hand."
                ).format(run_id=summary.id, reason=plain(summary.message or _("unreadable")))
            )
            if may_manage(summary.id):
                delete_controls(summary.id, "damaged", button)
    for summary in summaries:
        if summary.missing:  # named now, not when someone clicks and it fails
            st.warning(
                _("**{run_id}** is missing files: {problems}.").format(
                    run_id=summary.id,
                    problems="; ".join(plain(problem) for problem in summary.missing),
                ),
                icon=":material/folder_off:",
            )
    if len(chosen) == 1 and chosen[0] in by_id and not by_id[chosen[0]].damaged:
        summary = by_id[chosen[0]]
        if not may_manage(summary.id):
            st.caption(
                _(
                    "{run_id} was started from another browser: you can look at it, but only its "
                    "owner or the teacher can resume or delete it."
                ).format(run_id=summary.id)
            )
            return
        left, middle, right = st.columns(3)
        if summary.state in ("stopped", "crashed", "failed") and left.button(
            _("Resume"), key=f"resume_{summary.id}", icon=":material/play_arrow:"
        ):
            try:
                jobs.resume(Run(runs_root / summary.id), viewer, limit=run_limit)
                changed()
                st.session_state.follow = [summary.id]
                st.rerun()
            except (OSError, ValueError) as error:  # a full disk: core.files.StorageError
                st.error(_("Could not resume it: {error}").format(error=plain(error)))
        if not summary.active:
            delete_controls(summary.id, "selected", right)


# While runs are active this page reruns every 2 s; in a browser on the same 2-core machine
# the "running" indicator and fade animations cost the training run a few percent of its speed.
st.html(
    "<style>[data-testid='stStatusWidget']{display:none}"
    " *{transition:none!important;animation:none!important}</style>"
)
controls = st.columns([3, 2], vertical_alignment="bottom")
controls[0].slider(_("Smoothing of the batch loss"), 0.0, 0.99, 0.6, 0.01, key="smoothing")
controls[1].toggle(_("Log scale"), True, key="log_loss")

# Poll only while something is queued or running; an idle page sends nothing.
any_active = any(jobs.is_active(r) for r in list_runs(runs_root))
st.caption(
    _(
        "Live: refreshing every {refresh:g} s (curves every {charts:g} s) while runs are active."
    ).format(refresh=REFRESH_SECONDS, charts=CHART_SECONDS)
    if any_active
    else _("Idle: nothing is running, so the page is not refreshing.")
)
st.fragment(progress_panel, run_every=REFRESH_SECONDS if any_active else None)()
if ray_cluster and not student:

    def cluster_view() -> None:
        active = [run.id for run in list_runs(runs_root) if jobs.is_active(run)]
        cluster_panel(ray_cluster, runs_root, active)

    st.fragment(cluster_view, run_every=CLUSTER_SECONDS if any_active else None)()
st.fragment(results_panel, run_every=CHART_SECONDS if any_active else None)()
