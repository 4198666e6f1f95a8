"""Figures of the compare page: test risk against cost, seed groups with their spread."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.analysis.compare import RunFacts, SeedGroup, differing_settings
from core.i18n import N_, _
from core.training.config import TrainConfig, setting_label
from dashboard.charts import PALETTE

# The axes' titles are marked only: `_()` them where shown.
X_AXES = {
    "parameters": (N_("parameters"), "{:,.0f}"),
    "seconds_per_epoch": (N_("seconds per epoch"), "{:.1f}"),
    "macs": (N_("MACs per image"), "{:,.0f}"),
}
# A run's state as the compare page names it (the stored state stays English).
STATE_LABELS = {
    "queued": N_("queued"),
    "running": N_("running"),
    "stalled": N_("stalled"),
    "completed": N_("completed"),
    "stopped": N_("stopped"),
    "diverged": N_("diverged"),
    "failed": N_("failed"),
    "crashed": N_("crashed"),
}
TRUE, FALSE = N_("True"), N_("False")
# A second cue beside the colour (issue 25): each setting also has its own marker shape.
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross"]


def state_label(state: str) -> str:
    label = STATE_LABELS.get(state)
    return _(label) if label else state


def setting_value(value) -> str:
    """A setting's value as the compare page shows it ("all" for every training image)."""
    if value is None:
        return _("all")
    if isinstance(value, bool):
        return _(TRUE) if value else _(FALSE)
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_settings(config: TrainConfig, names: list[str]) -> str:
    """'activation tanh, pooling avg' (core.analysis.compare.describe) in the reader's
    language."""
    parts = [f"{setting_label(name)} {setting_value(getattr(config, name))}" for name in names]
    return ", ".join(parts) if parts else _("the lecture's recipe")


def risk_scatter_figure(
    facts: list[RunFacts], groups: list[SeedGroup], x: str = "parameters"
) -> go.Figure:
    """Test risk (log) against parameters, MACs or seconds per epoch: one point per run; the
    runs that differ only in seed share a colour, with a bar from their best to worst risk."""
    title, number = X_AXES[x]
    title = _(title)
    by_id = {f.id: f for f in facts}
    names = differing_settings([g.config for g in groups])
    figure = go.Figure()
    for index, group in enumerate(groups):
        members = [by_id[i] for i in group.run_ids if by_id[i].test_risk is not None]
        members = [m for m in members if getattr(m, x) is not None]
        if not members:
            continue
        colour = PALETTE[index % len(PALETTE)]
        symbol = SYMBOLS[index % len(SYMBOLS)]
        label = describe_settings(group.config, [n for n in names if n != "seed"])
        xs = [getattr(m, x) for m in members]
        risks = [m.test_risk for m in members]
        figure.add_scatter(
            x=xs,
            y=risks,
            mode="markers",
            marker=dict(color=colour, symbol=symbol, size=11, line=dict(color="white", width=1)),
            name=(
                _("{label} ({count} seeds)").format(label=label, count=len(members))
                if len(members) > 1
                else _("{label} (1 seed)").format(label=label)
            ),
            customdata=[[m.id, m.config.seed] for m in members],
            hovertemplate="%{customdata[0]}<br>"
            + _("seed {seed}").format(seed="%{customdata[1]}")
            + "<br>"
            + _("test risk {risk}").format(risk="%{y:.4f}")
            + f"<br>{title} %{{x}}<extra></extra>",
        )
        if len(members) > 1:  # the spread over seeds, at the group's mean x
            middle = sum(xs) / len(xs)
            figure.add_scatter(
                x=[middle, middle],
                y=[min(risks), max(risks)],
                mode="lines",
                line=dict(color=colour, width=3),
                opacity=0.45,
                showlegend=False,
                hoverinfo="skip",
            )
    figure.update_layout(
        height=380,
        margin=dict(l=60, r=20, t=40, b=50),
        title=dict(text=_("Test risk against {title}").format(title=title), font=dict(size=14)),
        plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="top", y=-0.2, x=0),
        xaxis=dict(title=title, showgrid=True, gridcolor="#e2e8f0"),
        yaxis=dict(title=_("test risk (log)"), type="log", showgrid=True, gridcolor="#e2e8f0"),
    )
    if not figure.data:
        figure.add_annotation(
            text=_("No finished run among those picked: test risks appear when runs complete."),
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
    return figure


def risk_scatter_text(
    facts: list[RunFacts], groups: list[SeedGroup], x: str = "parameters"
) -> tuple[str, pd.DataFrame | None]:
    """What the risk scatter shows, in words (the lowest and highest test risk and their cost),
    and one row per point."""
    title, number = X_AXES[x]
    title = _(title)
    by_id = {f.id: f for f in facts}
    names = differing_settings([g.config for g in groups])
    rows = []
    for group in groups:
        label = describe_settings(group.config, [n for n in names if n != "seed"])
        for run_id in group.run_ids:
            fact = by_id[run_id]
            if fact.test_risk is None or getattr(fact, x) is None:
                continue
            rows.append((fact, label))
    if not rows:
        return _("No finished run among those picked: test risks appear when runs complete."), None
    rows.sort(key=lambda row: row[0].test_risk)
    (best, best_label), (worst, worst_label) = rows[0], rows[-1]
    if len(rows) == 1:
        summary = _("One run: test risk {risk:.4f} at {value} {title} ({label}).").format(
            risk=best.test_risk,
            value=number.format(getattr(best, x)),
            title=title,
            label=best_label,
        )
    else:
        summary = _(
            "{count} runs. The lowest test risk, {best:.4f}, is at {best_value} {title}"
            " ({best_label}); the highest, {worst:.4f}, at {worst_value} ({worst_label})."
        ).format(
            count=len(rows),
            best=best.test_risk,
            best_value=number.format(getattr(best, x)),
            title=title,
            best_label=best_label,
            worst=worst.test_risk,
            worst_value=number.format(getattr(worst, x)),
            worst_label=worst_label,
        )
    table = pd.DataFrame(
        {
            _("run"): [fact.id for fact, _label in rows],
            _("setting"): [label for _fact, label in rows],
            _("seed"): [fact.config.seed for fact, _label in rows],
            title: [number.format(getattr(fact, x)) for fact, _label in rows],
            _("test risk"): [f"{fact.test_risk:.4f}" for fact, _label in rows],
        }
    )
    return summary, table
