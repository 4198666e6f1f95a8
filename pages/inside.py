"""Inside the network: a trained LeNet-5's learned kernels and its feature maps for one digit:
a test digit, one you draw, or one you upload."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from core.analysis.evaluate import run_model
from core.i18n import N_, _, ltr
from core.model.lenet import FEATURE_LAYERS, LeNet5, feature_maps
from core.runs.store import Run, default_runs_dir
from dashboard.charts import (
    feature_maps_text,
    kernels_text,
    mosaic,
    mosaic_figure,
    probability_bars_figure,
    probability_text,
)
from dashboard.described import chart
from dashboard.digit_input import SOURCES, choose_digit, digit_picture, index_from_link
from dashboard.text import plain
from dashboard.widgets import epoch_picker, finished_run_ids

SCALES = (N_("per map"), N_("per layer"), N_("global"))

st.title(_("Inside the network"))
st.markdown(
    _(
        "What a trained LeNet-5 has learned, and what it does with one digit: the kernels of C1 and"
        " C3, and the feature maps after C1, S2, C3 and S4 (bright = strong response)."
    )
)

runs_root = default_runs_dir()
ids = finished_run_ids(
    _("No finished training run yet: train one first, then look inside it here."), "inside_run"
)
index_from_link("inside_index")  # the warning for a bad link shows whatever the input


def modest_colour_bar(figure: go.Figure) -> go.Figure:
    """A thin colour bar, at most 160 px tall, whatever the figure's height."""
    plot_height = figure.layout.height - 30
    return figure.update_traces(colorbar=dict(thickness=12, len=min(1.0, 160 / plot_height)))


@st.cache_resource(max_entries=24, show_spinner=False)
def model_of(run_id: str, epoch: int | None, mtime: float) -> LeNet5:
    """The run's own architecture, with its best weights or those after `epoch`."""
    return run_model(Run(runs_root / run_id), epoch)


top = st.columns([2, 1, 1])
run_id = top[0].selectbox(_("Run"), ids, key="inside_run")
source = top[1].radio(_("Input"), SOURCES, horizontal=True, key="inside_source", format_func=_)
scale = top[2].radio(
    _("Colour scale"),
    SCALES,
    horizontal=True,
    key="inside_scale",
    format_func=_,
    help=_(
        "per map: each map its own range; per layer: one range per layer;"
        " global: one range for all four layers"
    ),
)
st.query_params["run"] = run_id
run = Run(runs_root / run_id)
epoch = epoch_picker(run, f"inside_epoch_{run_id}")
try:
    source_file = run.checkpoint_path("best") if epoch is None else run.snapshot_path(epoch)
    with st.spinner(_("Loading the trained model ...")):
        model = model_of(run_id, epoch, source_file.stat().st_mtime)
except (OSError, ValueError, RuntimeError, KeyError) as error:
    which = (
        _("best model") if epoch is None else _("weights after epoch {epoch}").format(epoch=epoch)
    )
    st.error(
        _("Could not load run {run}'s {which}: {error}").format(
            run=plain(run_id), which=which, error=plain(error)
        )
    )
    st.stop()
if epoch == 0:
    st.caption(_("Epoch 0 is the random start: the kernels are noise, and so is the answer."))

# ------------------------------------------------------------------ the input
left, right = st.columns([1, 2], gap="large")
with left:
    chosen = choose_digit(source, "inside")
    image, true_label = chosen.image, chosen.true_label
    if image is not None:
        digit_picture(image, _("The network's input (28×28, shown dark on light)"))

if image is None:
    with right:
        st.info(
            _("Draw a digit on the canvas (or upload one) to see what the network makes of it.")
        )
    st.stop()

maps, probabilities = feature_maps(model, torch.from_numpy(image)[None])
predicted = int(np.argmax(probabilities))
with right:
    verdict = ""
    if true_label is not None:
        verdict = (
            " ✓"
            if predicted == true_label
            else " " + _("✗ (the label says {label})").format(label=true_label)
        )
    st.subheader(_("Prediction: {predicted}{verdict}").format(predicted=predicted, verdict=verdict))
    st.caption(
        _("Probability {probability:.1%}; the ten digits:").format(
            probability=probabilities[predicted]
        )
    )
    summary, numbers = probability_text(probabilities, true_label)
    chart(
        probability_bars_figure(probabilities, true_label),
        summary=summary,
        table=numbers,
        key="inside_probs",
        config={"displayModeBar": False},
    )

# ------------------------------------------------------------------ learned kernels
st.subheader(_("Learned kernels"))
c1 = model.C1.weight.detach().numpy()  # [6, 1, 5, 5] in the lecture's network
c3 = model.C3.weight.detach().numpy()  # [16, 6, 5, 5]
k1, k3 = c1.shape[-1], c3.shape[-1]
# Each kernel set gets the whole width: in a third of it, C1's 5×5 kernels were drawn about
# 20 px each next to a colour bar as tall as the figure.
c1_limit = float(np.abs(c1).max())
summary, numbers = kernels_text(c1, "C1")
chart(
    modest_colour_bar(
        mosaic_figure(
            mosaic(c1[:, 0], columns=min(c1.shape[0], 16)),
            _("C1: {count} kernels of {size}").format(count=c1.shape[0], size=ltr(f"{k1}×{k1}")),
            -c1_limit,
            c1_limit,
            "RdBu",
            height=170,
        )
    ),
    summary=summary,
    table=numbers,
    key="c1_kernels",
    config={"displayModeBar": False},
)
c3_limit = float(np.abs(c3).max())
summary, numbers = kernels_text(c3, "C3")
chart(
    modest_colour_bar(
        mosaic_figure(
            # One column per output channel, one row per input channel: 16 wide and 6 tall
            # fits a page's shape far better than 6 wide and 16 tall.
            mosaic(c3.transpose(1, 0, 2, 3).reshape(-1, k3, k3), columns=c3.shape[0]),
            _("C3: {outputs} output channels (columns) × {inputs} input channels (rows)").format(
                outputs=c3.shape[0], inputs=c3.shape[1]
            ),
            -c3_limit,
            c3_limit,
            "RdBu",
            height=320,
        )
    ),
    summary=summary,
    table=numbers,
    key="c3_kernels",
    config={"displayModeBar": False},
)
st.caption(
    _(
        "Blue positive, red negative weights. Each column of C3 is one output channel's stack of "
        "kernels, one for each of C1's {count} maps."
    ).format(count=c3.shape[1])
)

# ------------------------------------------------------------------ feature maps
st.subheader(_("Feature maps"))
everything = np.concatenate([m.ravel() for m in maps.values()])
for name in FEATURE_LAYERS:
    layer = maps[name]
    columns = 6 if layer.shape[0] <= 6 else 8
    if scale == "per map":
        tiles, low, high = mosaic(layer, columns, normalize=True), 0.0, 1.0
        hover = mosaic(layer, columns)
    else:
        source_values = layer if scale == "per layer" else everything
        tiles, hover = mosaic(layer, columns), None
        low, high = float(source_values.min()), float(source_values.max())
    height = 140 if name in ("C1", "S2") else 200
    label = {
        "C1": _("after C1 + ReLU"),
        "S2": _("after S2 (max pool)"),
        "C3": _("after C3 + ReLU"),
        "S4": _("after S4 (max pool)"),
    }[name]
    shape = ltr("×".join(map(str, layer.shape)))
    chart(
        modest_colour_bar(
            mosaic_figure(
                tiles, f"{name}: {shape}, {label}", low, high, "Viridis", height=height, hover=hover
            )
        ),
        summary=feature_maps_text(name, layer),
        key=f"maps_{name}",
        config={"displayModeBar": False},
    )
