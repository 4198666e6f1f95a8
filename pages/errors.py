"""Errors: the test risk of a trained run, a clickable confusion matrix, the misclassified digits.

The evaluation of a run's best model is computed once (core/analysis/evaluate.py) and kept in its
run folder, so opening this page again is instant.
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import streamlit as st

from core.analysis.evaluate import Evaluation, evaluate_run, misclassified
from core.i18n import DEFAULT, N_, _, language, ltr
from core.runs.store import Run, default_runs_dir
from core.training.config import LECTURE_TEST_RISK
from dashboard.charts import (
    CONFUSION_CLICK_TRACE,
    confusion_matrix_figure,
    confusion_text,
    per_class_error_figure,
    per_class_error_text,
    probability_bars_figure,
    probability_text,
)
from dashboard.described import chart, numbers_table
from dashboard.site import INSIDE, WHY
from dashboard.text import plain
from dashboard.widgets import epoch_picker, finished_run_ids, mnist_test_digits

PAPER_TEST_RISK = 0.0095  # LeCun et al. 1998, LeNet-5 without distortions
PER_PAGE = 48
COLUMNS = 6  # eight columns left 54 px per digit at a 1000 px window: buttons cut off
ALL = N_("all")

state = st.session_state
st.title(_("What the network gets wrong"))
st.markdown(
    _(
        "The test risk is the share of the 10,000 test digits the trained network misclassifies:"
        " $\\hat{R} = \\frac{1}{n}\\sum_i \\mathbf{1}\\{h(x_i) \\neq y_i\\}$. Below, every one of"
        " those mistakes: where they fall in the confusion matrix, and what the digits look like."
    )
)

runs_root = default_runs_dir()
ids = finished_run_ids(
    _(
        "No finished training run yet. Train one first (a quick demo takes under a minute);"
        " its mistakes will appear here."
    ),
    "errors_run",
)
run_id = st.selectbox(
    _("Run"),
    ids,
    key="errors_run",
    help=_("Finished runs, newest first; the weights of each run's best epoch."),
)
st.query_params["run"] = run_id


@st.cache_resource(show_spinner=False, max_entries=24)
def evaluation_of(run_id: str, epoch: int | None, mtime: float) -> Evaluation:
    return evaluate_run(Run(runs_root / run_id), epoch=epoch)


run = Run(runs_root / run_id)
epoch = epoch_picker(run, f"errors_epoch_{run_id}")
try:
    source = run.checkpoint_path("best") if epoch is None else run.snapshot_path(epoch)
    with st.spinner(_("Evaluating the model on the 10,000 test images ...")):
        evaluation = evaluation_of(run_id, epoch, source.stat().st_mtime)
except (OSError, ValueError, RuntimeError) as error:
    st.error(
        _("Could not evaluate run {run}: {error}").format(run=plain(run_id), error=plain(error))
    )
    st.stop()
if epoch is not None:
    st.info(
        (
            _(
                "Showing the weights after epoch {epoch} (the random start: about one digit in"
                " ten right). The run's result is still the best epoch's, chosen on the"
                " validation set."
            )
            if epoch == 0
            else _(
                "Showing the weights after epoch {epoch}. The run's result is still the best"
                " epoch's, chosen on the validation set."
            )
        ).format(epoch=epoch),
        icon=":material/history:",
    )

# ------------------------------------------------------------------ headline
risk = evaluation.test_risk
m1, m2, m3 = st.columns(3)  # a fourth column cut values off at 1000 px ("0.91...")
m1.metric(
    _("Test risk"),
    f"{risk:.4f}",
    delta=_("{difference} vs lecture").format(difference=f"{risk - LECTURE_TEST_RISK:+.4f}"),
    delta_color="inverse",
)
m2.metric(_("Accuracy"), f"{1 - risk:.2%}")
m3.metric(
    _("Misclassified"),
    f"{evaluation.errors:,}",
    help=_("of {count:,}").format(count=len(evaluation.labels)),
)
st.caption(
    _(
        "For comparison: the lecture's LeNet-5 has a test risk of {LECTURE_TEST_RISK} "
        "({LECTURE_TEST_RISK:.2%}); LeNet-5 in LeCun et al. 1998, without distortions, "
        "{PAPER_TEST_RISK:.2%}."
    ).format(LECTURE_TEST_RISK=LECTURE_TEST_RISK, PAPER_TEST_RISK=PAPER_TEST_RISK)
)

# ------------------------------------------------------------------ filters (state first)
for key in ("true_filter", "pred_filter"):
    if key not in state:
        raw = st.query_params.get("true" if key == "true_filter" else "pred")
        state[key] = raw if raw in [str(d) for d in range(10)] else ALL


def clear_filter() -> None:
    state.true_filter = state.pred_filter = ALL
    state.gallery_page = 1


clicked = [
    (int(p["y"]), int(p["x"]))
    for p in (state.get("confusion") or {}).get("selection", {}).get("points", [])
    if p.get("curve_number") == CONFUSION_CLICK_TRACE
]
if clicked and clicked != state.get("last_confusion_click"):
    state.true_filter, state.pred_filter = str(clicked[0][0]), str(clicked[0][1])
    state.gallery_page = 1
state.last_confusion_click = clicked

st.subheader(_("Confusion matrix"))
st.caption(
    _("Rows: the true digit; columns: the network's answer. Click a cell to see those digits.")
)
# The matrix gets most of the width (in half of a 1000 px window its cells were 20 px), the
# error rate per digit the whole width below.
left, right = st.columns([3, 2], gap="medium")
with left:
    selected = None
    if state.true_filter != ALL and state.pred_filter != ALL:
        selected = (int(state.true_filter), int(state.pred_filter))
    summary, numbers = confusion_text(evaluation.confusion)
    chart(
        confusion_matrix_figure(evaluation.confusion, selected),
        summary=summary,
        key="confusion",
        on_select="rerun",
        selection_mode="points",
        config={"displayModeBar": False},
    )
with right:
    worst = np.unravel_index(
        np.argmax(np.where(np.eye(10, dtype=bool), -1, evaluation.confusion)), (10, 10)
    )
    st.markdown(
        _(
            "The most frequent confusion: a true **{worst}** read as **{worst2}** ({value} times)."
        ).format(worst=worst[0], worst2=worst[1], value=evaluation.confusion[worst])
    )
    table = misclassified(evaluation)
    st.download_button(
        _("Misclassified list (CSV)"),
        table.to_csv(index=False).encode(),
        file_name=f"misclassified-{run_id}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
# The matrix's numbers take the whole width: in the matrix's column, at 200% zoom, its eleven
# columns were cut off.
numbers_table(numbers, key="confusion")
summary, numbers = per_class_error_text(evaluation.per_class_error)
chart(
    per_class_error_figure(evaluation.per_class_error),
    summary=summary,
    table=numbers,
    key="per_class",
    config={"displayModeBar": False},
)

# ------------------------------------------------------------------ gallery
st.subheader(_("Misclassified test digits"))
choices = [ALL] + [str(d) for d in range(10)]
f1, f2, f3, f4 = st.columns([1, 1, 1.4, 1])
f1.selectbox(
    _("True digit"),
    choices,
    key="true_filter",
    on_change=lambda: state.update(gallery_page=1),
    format_func=_,
)
f2.selectbox(
    _("Predicted digit"),
    choices,
    key="pred_filter",
    on_change=lambda: state.update(gallery_page=1),
    format_func=_,
)
order = f3.radio(
    _("Order"),
    [N_("most confident first"), N_("least confident first")],
    horizontal=True,
    key="order",
    format_func=_,
)
f4.button(
    _("Clear filter"),
    on_click=clear_filter,
    icon=":material/filter_alt_off:",
    disabled=state.true_filter == ALL and state.pred_filter == ALL,
)
st.query_params.update(true=state.true_filter, pred=state.pred_filter)

true_digit = None if state.true_filter == ALL else int(state.true_filter)
pred_digit = None if state.pred_filter == ALL else int(state.pred_filter)
shown = misclassified(evaluation, true_digit, pred_digit, order == "most confident first")
pages = max(1, -(-len(shown) // PER_PAGE))
if state.get("gallery_page", 1) > pages:
    state.gallery_page = 1
page_number = st.number_input(
    _("Page (of {pages})").format(pages=pages), 1, pages, key="gallery_page"
)
start = (page_number - 1) * PER_PAGE
window = shown.iloc[start : start + PER_PAGE]
what = (
    _("all digits")
    if true_digit is None and pred_digit is None
    else _("true {true}, predicted {predicted}").format(
        true=state.true_filter if true_digit is not None else _("any"),
        predicted=state.pred_filter if pred_digit is not None else _("any"),
    )
)
st.caption(
    _("{count:,} misclassified ({what}); showing {first}-{last}.").format(
        count=len(shown), what=what, first=start + 1 if len(shown) else 0, last=start + len(window)
    )
)

digits = mnist_test_digits()
if digits is None:
    st.error(_("MNIST is not ready: run `python -m core.model.mnist fetch`."))
    st.stop()
images, _labels = digits
if window.empty:
    st.info(_("No misclassified digits match this filter."))
for row_start in range(0, len(window), COLUMNS):
    columns = st.columns(COLUMNS)
    for column, (_index, item) in zip(
        columns, window.iloc[row_start : row_start + COLUMNS].iterrows(), strict=False
    ):
        index = int(item["index"])
        column.image(
            255 - images[index],
            width=84,
            clamp=True,
            alt=_("Test digit #{index}: a {true} the network read as {predicted}").format(
                index=index, true=int(item["true"]), predicted=int(item["predicted"])
            ),
        )
        # The button before the caption: a caption that wraps no longer pushes its button
        # below its neighbours'.
        if column.button(
            _("Inspect"),
            key=f"inspect_{index}",
            help=_("Show it large, with the probability of each digit"),
        ):
            state.inspect = index
        column.caption(
            ltr(f"#{index}: {int(item['true'])} → **{int(item['predicted'])}**")
            + f" ({item['confidence']:.0%})"
        )

# ------------------------------------------------------------------ one digit, large
inspected = state.get("inspect")
if inspected is not None and 0 <= inspected < len(evaluation.labels):
    st.divider()
    st.subheader(_("Test digit #{inspected}").format(inspected=inspected))
    a, b = st.columns([1, 2])
    a.image(
        np.kron(255 - images[inspected], np.ones((8, 8), dtype=np.uint8)),
        width=224,
        alt=_("Test digit #{index}, large").format(index=inspected),
    )
    true_label = int(evaluation.labels[inspected])
    predicted_label = int(evaluation.predictions[inspected])
    a.markdown(
        _("True **{true_label}**, predicted **{predicted_label}** ({value:.1%})").format(
            true_label=true_label,
            predicted_label=predicted_label,
            value=evaluation.confidence[inspected],
        )
    )
    keep = {} if language() == DEFAULT else {"lang": language()}
    query = {"run": run_id, "index": inspected} | ({} if epoch is None else {"epoch": epoch}) | keep
    link = f"/{INSIDE.url_path}?{urlencode(query)}"
    a.markdown(_("[Open it inside the network]({link})").format(link=link))
    why_link = f"/{WHY.url_path}?{urlencode({'run': run_id, 'index': inspected} | keep)}"
    a.markdown(_("[Why did it err?]({link})").format(link=why_link))
    summary, numbers = probability_text(evaluation.probabilities[inspected], true_label)
    chart(
        probability_bars_figure(evaluation.probabilities[inspected], true_label),
        summary=summary,
        table=numbers,
        where=b,
        key="probabilities",
        config={"displayModeBar": False},
    )
