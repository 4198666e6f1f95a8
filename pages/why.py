"""Why it errs: which pixels drove an answer (and whether that picture is faithful), how
easily the answer flips (FGSM, shifts, rotations, scaling), and where the mistakes sit among
the test digits (the F6 features in 2D). For a test digit (linked from the errors gallery),
a drawn digit or an upload.

The whole-test-set analyses run in a background process (core/analysis/background.py) and are cached
in the run folder; this page only shows their progress until they are there.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from core.analysis.attribution import class_probabilities
from core.analysis.evaluate import Evaluation, evaluate_run, run_model
from core.i18n import _
from core.model.lenet import LeNet5
from core.runs.store import Run, default_runs_dir
from dashboard.charts import probability_bars_figure, probability_text
from dashboard.described import chart
from dashboard.digit_input import SOURCES, choose_digit, digit_picture
from dashboard.text import plain
from dashboard.why.views import (
    NO_BAR,
    VIEWS,
    attribution_view,
    embedding_view,
    robustness_view,
)
from dashboard.widgets import finished_run_ids, mnist_test_digits

state = st.session_state
st.title(_("Why it errs"))
st.markdown(
    _(
        "The errors page shows which digits the network gets wrong. Here: which pixels drove an"
        " answer, how easily the answer flips, and whether a mistake sits among look-alike digits."
    )
)

runs_root = default_runs_dir()
ids = finished_run_ids(
    _("No finished training run yet: train one first, then ask it why it errs here."), "why_run"
)
if "why_view" not in state:
    wanted = st.query_params.get("view")
    known = [str(number) for number in range(len(VIEWS))]
    if wanted is not None and wanted not in known:
        st.warning(
            _(
                "Ignored the link's view {view}: views are numbered 0 to {last}; showing '{first}'."
            ).format(view=plain(repr(wanted[:12])), last=len(VIEWS) - 1, first=_(VIEWS[0]))
        )
    state.why_view = VIEWS[int(wanted)] if wanted in known else VIEWS[0]

top = st.columns([1, 2], gap="medium")
run_id = top[0].selectbox(_("Run"), ids, key="why_run", help=_("Finished runs, newest first."))
view = top[1].radio(_("Show"), VIEWS, horizontal=True, key="why_view", format_func=_)
st.query_params.update(run=run_id, view=str(VIEWS.index(view)))


@st.cache_resource(max_entries=8, show_spinner=False)
def model_of(run_id: str, mtime: float) -> LeNet5:
    return run_model(Run(runs_root / run_id))


@st.cache_resource(max_entries=8, show_spinner=False)
def evaluation_of(run_id: str, mtime: float) -> Evaluation:
    return evaluate_run(Run(runs_root / run_id))


run = Run(runs_root / run_id)
try:
    mtime = run.checkpoint_path("best").stat().st_mtime
    with st.spinner(_("Loading the trained model ...")):
        model = model_of(run_id, mtime)
    with st.spinner(_("Evaluating the 10,000 test digits ...")):
        evaluation = evaluation_of(run_id, mtime)
except (OSError, ValueError, RuntimeError, KeyError) as error:
    st.error(
        _("Could not load run {run}'s best model: {error}").format(
            run=plain(run_id), error=plain(error)
        )
    )
    st.stop()
digits = mnist_test_digits()
if digits is None:
    st.error(_("MNIST is not ready: run `python -m core.model.mnist fetch`."))
    st.stop()
test_images = digits[0]

if view == VIEWS[2]:
    embedding_view(run, model, evaluation, test_images, mtime)
    st.stop()

# ------------------------------------------------------------------ the digit to explain
left, right = st.columns([1, 2], gap="large")
with left:
    source = st.radio(_("Input"), SOURCES, horizontal=True, key="why_source", format_func=_)
    chosen = choose_digit(source, "why")
    if chosen.image is not None:
        digit_picture(chosen.image, _("The network's input (28×28)"))
if chosen.image is None:
    with right:
        st.info(_("Draw a digit on the canvas (or upload one) to see why the network reads it so."))
    st.stop()
probabilities = class_probabilities(model, torch.from_numpy(chosen.image)[None])
predicted = int(np.argmax(probabilities))
with right:
    verdict = ""
    if chosen.true_label is not None:
        verdict = (
            " ✓"
            if predicted == chosen.true_label
            else " " + _("✗ (the label says {label})").format(label=chosen.true_label)
        )
    st.subheader(_("Prediction: {predicted}{verdict}").format(predicted=predicted, verdict=verdict))
    summary, numbers = probability_text(probabilities, chosen.true_label)
    chart(
        probability_bars_figure(probabilities, chosen.true_label),
        summary=summary,
        table=numbers,
        key="why_probs",
        config=NO_BAR,
    )

if view == VIEWS[0]:
    attribution_view(model, chosen.image, predicted, chosen.true_label)
else:
    robustness_view(run, model, evaluation, test_images, chosen.image)
