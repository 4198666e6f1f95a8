"""Compare runs: what differs, what each costs, how well each did, curves overlaid, and seeds
grouped so that a real difference can be told from noise."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.compare import differing_settings, readable_facts, seed_groups
from core.i18n import DEFAULT, N_, _, language
from core.runs.store import RUN_ID_PATTERN, Run, default_runs_dir, list_runs
from core.training.config import LECTURE_TEST_RISK, setting_label
from dashboard.charts import (
    curves_against_seconds_figure,
    curves_against_seconds_text,
    training_curves_figure,
    training_curves_text,
)
from dashboard.described import chart
from dashboard.site import TRAINING
from dashboard.text import plain
from dashboard.training.compare import (
    X_AXES,
    describe_settings,
    risk_scatter_figure,
    risk_scatter_text,
    setting_value,
    state_label,
)
from dashboard.widgets import cached_metrics

st.title(_("Compare runs"))
st.markdown(
    _(
        "Pick runs to see them side by side: only the settings that differ, what each network"
        " costs, and how well it did. Runs that differ only in their seed are grouped: the spread"
        " of their test risks is the noise any other difference must beat."
    )
)

runs_root = default_runs_dir()
runs = list_runs(runs_root)
facts, damaged = readable_facts(runs)
if not facts:
    st.info(_("No runs to compare yet: train a few first (the lecture's, and a variant of it)."))
    st.markdown(_("[Go to the training page](/{url_path})").format(url_path=TRAINING.url_path))
    st.stop()
by_id = {f.id: f for f in facts}

wanted = [r for r in st.query_params.get_all("run") if r]
ignored = [r for r in wanted if not RUN_ID_PATTERN.match(r) or r not in by_id]
if ignored:
    names = ", ".join(plain(r[:40]) for r in ignored)
    st.warning(_("Ignored the link's runs that cannot be compared: {names}.").format(names=names))
if "compare_runs" not in st.session_state:
    chosen = [r for r in wanted if r in by_id]
    finished = [f.id for f in facts if f.test_risk is not None]
    st.session_state.compare_runs = chosen or finished[:4] or [facts[0].id]


def label(run_id: str) -> str:
    fact = by_id[run_id]
    return f"{run_id} · " + (
        state_label(fact.state) if fact.test_risk is None else f"{fact.test_risk:.4f}"
    )


def short_id(run_id: str) -> str:
    """A run's name for a legend: generated ids end in 4 random hex digits, which suffice."""
    return run_id if len(run_id) <= 24 else "…" + run_id[-14:]


picked = st.multiselect(
    _("Runs"), list(by_id), key="compare_runs", format_func=label, placeholder=_("Pick runs")
)
if damaged:
    st.caption(
        _("{count} damaged runs left out (see the training page to delete them).").format(
            count=len(damaged)
        )
        if len(damaged) > 1
        else _("1 damaged run left out (see the training page to delete them).")
    )
if not picked:
    st.info(_("Pick at least one run above."))
    st.stop()
st.query_params["run"] = picked
chosen = [by_id[r] for r in picked]
differing = differing_settings([f.config for f in chosen])

# ------------------------------------------------------------------ side by side
# The tables' column headers, marked only (`_()` where the table is built).
RUN, PARAMETERS, MACS = N_("run"), N_("parameters"), N_("MACs")
SECONDS, VAL_ERROR, TEST_RISK = N_("s / epoch"), N_("val error"), N_("test risk")
SETTINGS, RUNS, SEEDS = N_("settings"), N_("runs"), N_("seeds")
MEDIAN, BEST_WORST, STD = N_("median test risk"), N_("best – worst"), N_("std")

rows = []
for fact in chosen:
    row = {_(RUN): fact.id}
    for name in differing:
        row[setting_label(name)] = setting_value(getattr(fact.config, name))
    row.update(
        {
            _(PARAMETERS): f"{fact.parameters:,}",
            _(MACS): f"{fact.macs:,}",
            _(SECONDS): "" if fact.seconds_per_epoch is None else f"{fact.seconds_per_epoch:.1f}",
            _(VAL_ERROR): "" if fact.best_val_error is None else f"{fact.best_val_error:.4f}",
            _(TEST_RISK): "" if fact.test_risk is None else f"{fact.test_risk:.4f}",
        }
    )
    rows.append(row)
frame = pd.DataFrame(rows).astype(str)
styled = frame.style.map(
    lambda _cell: "background-color: #fef3c7; font-weight: 600",
    subset=[setting_label(name) for name in differing],
)
st.subheader(_("Side by side"))
if len(chosen) > 1:
    # In English the settings' own names (batch_size), as before; translated, their columns'.
    names = ", ".join(
        differing if language() == DEFAULT else [setting_label(name) for name in differing]
    )
    highlighted = (
        _("Highlighted: the settings that differ between these runs ({names}).").format(names=names)
        if differing
        else _(
            "Highlighted: the settings that differ between these runs (none: the same experiment)."
        )
    )
    st.caption(
        highlighted
        + " "
        + _(
            "Val error: the best epoch's validation error. The lecture's test risk: {risk}."
        ).format(risk=LECTURE_TEST_RISK)
    )
# Static tables: they wrap to the page's width, where a data grid would scroll sideways.
st.table(styled.hide(axis="index"))

# ------------------------------------------------------------------ curves and scatter
curves = []
for fact in chosen:
    records = cached_metrics(Run(runs_root / fact.id))
    curves.append((short_id(fact.id), fact.config.batches_per_epoch, records))
against = st.radio(
    _("Curves against"),
    ["epochs", "seconds"],
    format_func={"epochs": _("epochs"), "seconds": _("seconds")}.get,
    horizontal=True,
    key="curves_against",
    help=_(
        "Seconds: the training time so far (each epoch's own clock), so a recipe that needs"
        " fewer but slower epochs, or more but faster ones, is judged by when it gets there."
    ),
)
if against == "epochs":
    summary, table = training_curves_text(curves)
    chart(
        training_curves_figure(curves, 0.6, True),
        summary=summary,
        table=table,
        key="compare_curves",
        config={"displayModeBar": False},
    )
else:
    timed = [(name, records) for name, _steps, records in curves]
    summary, table = curves_against_seconds_text(timed)
    chart(
        curves_against_seconds_figure(timed),
        summary=summary,
        table=table,
        key="compare_seconds",
        config={"displayModeBar": False},
    )
if any(fact.config.label_smoothing for fact in chosen):
    st.caption(
        _(
            "A run with label smoothing trains towards softened targets, so its train loss stays"
            " higher (above about 0.5 at 0.1) however well it does: compare the validation error."
        )
    )

groups = seed_groups(chosen)
st.subheader(_("Test risk against cost"))
axis = st.radio(
    _("Against"), list(X_AXES), format_func=lambda k: _(X_AXES[k][0]), horizontal=True, key="x_axis"
)
summary, table = risk_scatter_text(chosen, groups, axis)
chart(
    risk_scatter_figure(chosen, groups, axis),
    summary=summary,
    table=table,
    key="risk_scatter",
    config={"displayModeBar": False},
)
st.caption(
    _(
        "Bigger is not always better: a network with more parameters or MACs can have a higher"
        " test risk. Each colour and marker shape is one setting; with several seeds the bar"
        " spans their best to worst test risk."
    )
)

st.subheader(_("Seeds"))
group_rows = []
for group in groups:
    spread = group.spread
    group_rows.append(
        {
            _(SETTINGS): describe_settings(group.config, [n for n in differing if n != "seed"]),
            _(RUNS): group.size,
            _(SEEDS): ", ".join(str(s) for s in group.seeds),
            _(MEDIAN): "" if group.median is None else f"{group.median:.4f}",
            _(BEST_WORST): "" if spread is None else f"{spread[0]:.4f} – {spread[1]:.4f}",
            _(STD): "" if group.stdev is None else f"{group.stdev:.4f}",
        }
    )
st.table(pd.DataFrame(group_rows).astype(str).style.hide(axis="index"))
if all(group.size == 1 for group in groups):
    st.caption(
        _(
            "Every run here is alone in its group: train the same settings with two or three other"
            " seeds to see how much the test risk moves by chance alone."
        )
    )
else:
    st.caption(
        _(
            "Two settings whose best–worst ranges overlap are not shown to differ by these runs;"
            " with ranges far apart, the difference is larger than the seeds' noise."
        )
    )
