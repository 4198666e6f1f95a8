"""Compare runs: what differs, what each costs, how well each did, curves overlaid, and seeds
grouped so that a real difference can be told from noise."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.compare import describe, differing_settings, readable_facts, seed_groups
from core.runs.store import RUN_ID_PATTERN, Run, default_runs_dir, list_runs
from core.training.config import LECTURE_TEST_RISK
from dashboard.charts import curves_against_seconds_figure, training_curves_figure
from dashboard.site import TRAINING
from dashboard.text import plain
from dashboard.training.compare import X_AXES, risk_scatter_figure
from dashboard.widgets import cached_metrics

st.title("Compare runs")
st.markdown(
    "Pick runs to see them side by side: only the settings that differ, what each network"
    " costs, and how well it did. Runs that differ only in their seed are grouped: the spread"
    " of their test risks is the noise any other difference must beat."
)

runs_root = default_runs_dir()
runs = list_runs(runs_root)
facts, damaged = readable_facts(runs)
if not facts:
    st.info("No runs to compare yet: train a few first (the lecture's, and a variant of it).")
    st.markdown(f"[Go to the training page](/{TRAINING.url_path})")
    st.stop()
by_id = {f.id: f for f in facts}

wanted = [r for r in st.query_params.get_all("run") if r]
ignored = [r for r in wanted if not RUN_ID_PATTERN.match(r) or r not in by_id]
if ignored:
    names = ", ".join(plain(r[:40]) for r in ignored)
    st.warning(f"Ignored the link's runs that cannot be compared: {names}.")
if "compare_runs" not in st.session_state:
    chosen = [r for r in wanted if r in by_id]
    finished = [f.id for f in facts if f.test_risk is not None]
    st.session_state.compare_runs = chosen or finished[:4] or [facts[0].id]


def label(run_id: str) -> str:
    fact = by_id[run_id]
    return f"{run_id} · " + (fact.state if fact.test_risk is None else f"{fact.test_risk:.4f}")


def short_id(run_id: str) -> str:
    """A run's name for a legend: generated ids end in 4 random hex digits, which suffice."""
    return run_id if len(run_id) <= 24 else "…" + run_id[-14:]


picked = st.multiselect(
    "Runs", list(by_id), key="compare_runs", format_func=label, placeholder="Pick runs"
)
if damaged:
    st.caption(
        f"{len(damaged)} damaged run{'s' if len(damaged) > 1 else ''} left out (see the"
        " training page to delete them)."
    )
if not picked:
    st.info("Pick at least one run above.")
    st.stop()
st.query_params["run"] = picked
chosen = [by_id[r] for r in picked]
differing = differing_settings([f.config for f in chosen])

# ------------------------------------------------------------------ side by side
rows = []
for fact in chosen:
    row = {"run": fact.id}
    for name in differing:
        value = getattr(fact.config, name)
        text = "all" if value is None else (f"{value:g}" if isinstance(value, float) else value)
        row[name.replace("_", " ")] = text
    row.update(
        {
            "parameters": f"{fact.parameters:,}",
            "MACs": f"{fact.macs:,}",
            "s / epoch": "" if fact.seconds_per_epoch is None else f"{fact.seconds_per_epoch:.1f}",
            "val error": "" if fact.best_val_error is None else f"{fact.best_val_error:.4f}",
            "test risk": "" if fact.test_risk is None else f"{fact.test_risk:.4f}",
        }
    )
    rows.append(row)
frame = pd.DataFrame(rows).astype(str)
styled = frame.style.map(
    lambda _: "background-color: #fef3c7; font-weight: 600",
    subset=[name.replace("_", " ") for name in differing],
)
st.subheader("Side by side")
if len(chosen) > 1:
    st.caption(
        "Highlighted: the settings that differ between these runs"
        + (f" ({', '.join(differing)})." if differing else " (none: the same experiment).")
        + " Val error: the best epoch's validation error. The lecture's test risk:"
        f" {LECTURE_TEST_RISK}."
    )
# Static tables: they wrap to the page's width, where a data grid would scroll sideways.
st.table(styled.hide(axis="index"))

# ------------------------------------------------------------------ curves and scatter
curves = []
for fact in chosen:
    records = cached_metrics(Run(runs_root / fact.id))
    curves.append((short_id(fact.id), fact.config.batches_per_epoch, records))
against = st.radio(
    "Curves against",
    ["epochs", "seconds"],
    horizontal=True,
    key="curves_against",
    help="Seconds: the training time so far (each epoch's own clock), so a recipe that needs"
    " fewer but slower epochs, or more but faster ones, is judged by when it gets there.",
)
if against == "epochs":
    st.plotly_chart(
        training_curves_figure(curves, 0.6, True),
        key="compare_curves",
        config={"displayModeBar": False},
    )
else:
    st.plotly_chart(
        curves_against_seconds_figure([(label, records) for label, _, records in curves]),
        key="compare_seconds",
        config={"displayModeBar": False},
    )
if any(fact.config.label_smoothing for fact in chosen):
    st.caption(
        "A run with label smoothing trains towards softened targets, so its train loss stays"
        " higher (above about 0.5 at 0.1) however well it does: compare the validation error."
    )

groups = seed_groups(chosen)
st.subheader("Test risk against cost")
axis = st.radio(
    "Against", list(X_AXES), format_func=lambda k: X_AXES[k][0], horizontal=True, key="x_axis"
)
st.plotly_chart(
    risk_scatter_figure(chosen, groups, axis), key="risk_scatter", config={"displayModeBar": False}
)
st.caption(
    "Bigger is not always better: a network with more parameters or MACs can have a higher"
    " test risk. Each colour is one setting; with several seeds the bar spans their best to"
    " worst test risk."
)

st.subheader("Seeds")
group_rows = []
for group in groups:
    spread = group.spread
    group_rows.append(
        {
            "settings": describe(group.config, [n for n in differing if n != "seed"]),
            "runs": group.size,
            "seeds": ", ".join(str(s) for s in group.seeds),
            "median test risk": "" if group.median is None else f"{group.median:.4f}",
            "best – worst": "" if spread is None else f"{spread[0]:.4f} – {spread[1]:.4f}",
            "std": "" if group.stdev is None else f"{group.stdev:.4f}",
        }
    )
st.table(pd.DataFrame(group_rows).astype(str).style.hide(axis="index"))
if all(group.size == 1 for group in groups):
    st.caption(
        "Every run here is alone in its group: train the same settings with two or three other"
        " seeds to see how much the test risk moves by chance alone."
    )
else:
    st.caption(
        "Two settings whose best–worst ranges overlap are not shown to differ by these runs;"
        " with ranges far apart, the difference is larger than the seeds' noise."
    )
