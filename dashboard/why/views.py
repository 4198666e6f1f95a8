"""The three views of the "Why it errs" page: what the network looks at (attribution and its
faithfulness), where it breaks (FGSM and transformations), where the mistakes live (the F6
map). Each reads widgets, calls core, and draws with dashboard/why/charts.py."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import streamlit as st
import torch

from core.analysis import background
from core.analysis.attribution import faithfulness, grad_cam, gradient_x_input, occlusion, saliency
from core.analysis.embedding import f6_features, pca_2d
from core.analysis.evaluate import Evaluation
from core.analysis.robustness import fgsm, transformation_curves
from core.i18n import N_, _
from core.runs.store import Run
from dashboard.charts import probability_bars_figure, probability_text
from dashboard.described import chart, numbers_table
from dashboard.text import plain
from dashboard.why.charts import (
    attribution_maps_figure,
    attribution_maps_text,
    braille,
    deletion_curves_figure,
    deletion_curves_text,
    embedding_figure,
    embedding_text,
    fgsm_accuracy_figure,
    fgsm_accuracy_text,
    flipped_examples_figure,
    flipped_examples_text,
    method_name,
    shift_accuracy_figure,
    shift_accuracy_text,
    transformation_figure,
    transformation_text,
)

NO_BAR = {"displayModeBar": False}
FLIPPED_SHOWN = 6
# The methods' short names (the maps' titles before " (" or " |"), shown translated in the
# faithfulness verdicts and the deletion curves' legend.
METHOD_NAMES = (N_("Occlusion"), N_("Saliency"), N_("Gradient × input"), N_("Grad-CAM at C3"))

state = st.session_state


# ------------------------------------------------------------------ the background analyses


@st.fragment(run_every=1.0)
def _analysis_progress(run: Run, part: str) -> None:
    """Polls the analysis job once a second; reruns the page when `part` is ready."""
    if background.read(run, part) is not None:
        st.rerun()
    info = background.progress(run) or {}
    running = background.is_running(run)
    if info.get("error") and not running:
        st.error(_("The analysis failed: {error}").format(error=plain(info["error"])))
        if st.button(_("Try again"), key=f"why_retry_{part}"):
            background.start(run)
            st.rerun()
        return
    if not running:
        st.warning(_("The analysis process has stopped before finishing."))
        if st.button(_("Start it again"), key=f"why_restart_{part}"):
            background.start(run)
            st.rerun()
        return
    doing = info.get("part")
    fraction = float(info.get("fraction") or 0.0)
    title = _(background.PART_TITLES.get(doing, N_("starting")))
    st.progress(
        min(max(fraction, 0.0), 1.0),
        text=_(
            "Computing in the background: {title}, {fraction:.0%}. {count} part(s) to go; this"
            " page stays usable meanwhile."
        ).format(title=title, fraction=fraction, count=len(background.missing(run))),
    )


def cached_analysis(run: Run, part: str) -> dict[str, np.ndarray] | None:
    """The run's cached `part`; when missing, starts the background job (once) and shows its
    progress. None until the part is ready."""
    arrays = background.read(run, part)
    if arrays is not None:
        return arrays
    if not background.is_running(run) and not (background.progress(run) or {}).get("error"):
        background.start(run, first=part)
    _analysis_progress(run, part)
    return None


# ------------------------------------------------------------------ what it looks at


def attribution_view(model, image: np.ndarray, predicted: int, true_label: int | None) -> None:
    st.subheader(_("What the network looks at"))
    c1, c2, c3, c4 = st.columns([1.3, 1, 1, 1])
    choices = list(range(10))
    target = c1.selectbox(
        _("Explain the class"),
        choices,
        index=predicted,
        key=f"why_target_{predicted}_{true_label}",
        format_func=lambda d: (
            _("{digit} (predicted)") if d == predicted else _("{digit}: why not {digit}?")
        ).format(digit=d),
        help=_(
            "Every map explains one class's score. Pick another to ask why the network did"
            " not answer it."
        ),
    )
    patch = c2.slider(_("Occlusion patch"), 1, 14, 4, key="why_patch", help=_("side in pixels"))
    stride = c3.slider(
        _("Stride"), 1, patch, 1, key=f"why_stride_{patch}", help=_("at most the patch")
    )
    fill = c4.slider(
        _("Fill value"), 0.0, 1.0, 0.0, 0.1, key="why_fill", help=_("0: background, 1: ink")
    )
    x = torch.from_numpy(image)[None]
    cam = grad_cam(model, x, target)
    # English keys (the short names before " (" or " |" name the methods in core's
    # faithfulness test); the figures and the verdicts show them translated.
    maps = {
        N_("Occlusion (drop in p)"): (occlusion(model, x, target, patch, stride, fill), True),
        N_("Saliency |∂logit/∂x|"): (saliency(model, x, target), False),
        N_("Gradient × input"): (gradient_x_input(model, x, target), True),
        N_("Grad-CAM at C3"): (cam.map, False),
    }
    chart(
        attribution_maps_figure(maps, image),
        summary=attribution_maps_text(maps, image),
        key="why_maps",
        config=NO_BAR,
    )
    st.caption(
        _(
            "Blue: the pixel speaks for the class, red: against it (occlusion: covering it raises "
            "the probability). Saliency is how sensitive the class's score is to each pixel, in "
            "either direction; Grad-CAM weighs C3's 16 maps by the mean gradient of the score "
            "over each ({rows}×{columns}, stretched to 28×28). At C5 Grad-CAM would say nothing: "
            "C5's output is 1×1, a single position, so its map is flat. Black line: the digit's "
            "outline."
        ).format(rows=cam.coarse.shape[0], columns=cam.coarse.shape[1])
    )
    result = faithfulness(
        model,
        x,
        target,
        {method_name(name): values for name, (values, _signed) in maps.items()},
    )
    left, right = st.columns([3, 2], gap="medium")
    summary, numbers = deletion_curves_text(result.fractions, result.curves, result.random, target)
    chart(
        deletion_curves_figure(
            result.fractions, result.curves, result.random, result.explains, target
        ),
        summary=summary,
        where=left,
        key="why_deletion",
        config=NO_BAR,
    )
    with right:
        st.markdown(
            _(
                "**Is the picture faithful?** Delete (set to 0) the pixels a method ranks highest,"
                " 5% at a time: if they really drove the answer, the probability falls faster than"
                " when deleting random pixels (dashed)."
            )
        )
        for name, explains in result.explains.items():
            gap = result.gap(name)
            if explains:
                st.markdown(
                    _("- {name}: explains this digit (curve {gap:.2f} below random)").format(
                        name=_(name), gap=gap
                    )
                )
            else:
                st.markdown(
                    _(
                        "- {name}: :orange[**does not explain this digit**] (no steeper than"
                        " random: {gap:+.2f})"
                    ).format(name=_(name), gap=gap)
                )
    # The curves' six columns of numbers take the page's width (cut off in the curves' column).
    numbers_table(numbers, key="why_deletion")


# ------------------------------------------------------------------ where it breaks


def robustness_view(
    run: Run, model, evaluation: Evaluation, test_images: np.ndarray, image: np.ndarray
) -> None:
    st.subheader(_("Where it breaks"))
    st.markdown(
        _(
            "**Adversarial digits (FGSM).** Move every pixel by ε in the direction that raises the"
            " loss fastest, $x' = \\mathrm{clip}_{[0,1]}(x + \\varepsilon\\,\\mathrm{sign}"
            "(\\nabla_x \\mathrm{loss}))$: a change a person barely notices."
        )
    )
    sweep = cached_analysis(run, "fgsm")
    if sweep is not None:
        left, right = st.columns([2, 3], gap="medium")
        summary, numbers = fgsm_accuracy_text(sweep["epsilons"], sweep["accuracy"])
        chart(
            fgsm_accuracy_figure(sweep["epsilons"], sweep["accuracy"]),
            summary=summary,
            table=numbers,
            where=left,
            key="why_fgsm",
            config=NO_BAR,
        )
        with right:
            flipped_examples(model, sweep, evaluation.labels, test_images)
    st.markdown(
        _(
            "**Shifted, rotated, scaled.** The digit above, moved, turned and resized: where"
            " does the answer change?"
        )
    )
    curves = transformation_curves(model, torch.from_numpy(image)[None])
    top = np.stack([curve.probabilities.max(axis=0) for curve in curves]).max(axis=0)
    shown = [int(d) for d in np.flatnonzero(top >= 0.1)]
    summary, numbers = transformation_text(curves, shown)
    chart(
        transformation_figure(curves, shown),
        summary=summary,
        table=numbers,
        key="why_transforms",
        config=NO_BAR,
    )
    st.caption(_("Digits whose probability reaches 10% somewhere are drawn."))
    shifts = cached_analysis(run, "shift")
    if shifts is not None:
        left, right = st.columns([3, 2], gap="medium")
        summary, numbers = shift_accuracy_text(
            shifts["shifts"], shifts["horizontal"], shifts["vertical"]
        )
        chart(
            shift_accuracy_figure(shifts["shifts"], shifts["horizontal"], shifts["vertical"]),
            summary=summary,
            table=numbers,
            where=left,
            key="why_shift",
            config=NO_BAR,
        )
        at = dict(zip(shifts["shifts"].tolist(), shifts["horizontal"].tolist(), strict=True))
        right.markdown(
            _(
                "**How much translation invariance does pooling buy?** Each max pool keeps the "
                "strongest response in a 2×2 window, so a pattern may move by a pixel without "
                "changing S2; S4 repeats this on a coarser grid. Across the whole test set: "
                "{at0:.1%} right in place, {at1:.1%} shifted 1 px right, {at2:.1%} at 2 px, "
                "{at4:.1%} at 4 px, {at6:.1%} at 6 px: the invariance is real only for a pixel or "
                "two. MNIST's digits are centred, so the network never had to learn more (the "
                "training page's shift augmentation teaches it)."
            ).format(at0=at[0], at1=at[1], at2=at[2], at4=at[4], at6=at[6])
        )


def flipped_examples(model, sweep: dict, labels: np.ndarray, test_images: np.ndarray) -> None:
    epsilons = [float(e) for e in sweep["epsilons"]]
    epsilon = st.select_slider(
        _("Flipped digits at ε"), [e for e in epsilons if e > 0], value=0.1, key="why_epsilon"
    )
    e = epsilons.index(epsilon)
    right = sweep["predictions"][0] == labels
    flipped = np.flatnonzero(right & (sweep["predictions"][e] != labels))
    if not len(flipped):
        st.info(_("No test digit flips at ε = {epsilon:g}.").format(epsilon=epsilon))
        return
    chosen = np.sort(np.random.default_rng(e).choice(flipped, FLIPPED_SHOWN, replace=False))
    if len(flipped) < FLIPPED_SHOWN:
        chosen = flipped
    originals = torch.from_numpy(test_images[chosen].astype(np.float32) / 255.0)[:, None]
    targets = torch.from_numpy(labels[chosen])
    results = fgsm(model, originals, targets, epsilon)
    with torch.no_grad():
        before = model(originals).argmax(dim=1).tolist()
        after = model(results).argmax(dim=1).tolist()
    chart(
        flipped_examples_figure(
            originals[:, 0].numpy(),
            (results - originals)[:, 0].numpy(),
            results[:, 0].numpy(),
            before,
            after,
            epsilon,
        ),
        summary=flipped_examples_text(before, after, epsilon),
        key="why_flipped",
        config=NO_BAR,
    )
    st.caption(
        _(
            "{count:,} test digits that were right flip at ε = {epsilon:g}. Rows: the digit, the"
            " perturbation (blue +ε, red −ε), the result; titles: the answer before → after."
        ).format(count=len(flipped), epsilon=epsilon)
    )


# ------------------------------------------------------------------ where the mistakes live


@st.cache_data(show_spinner=False, max_entries=1)
def braille_pictures(test_images: np.ndarray) -> list[str]:
    return [braille(image / 255.0) for image in test_images]


@st.cache_data(show_spinner=False, max_entries=8)
def pca_points(run_id: str, mtime: float, _model, test_images: np.ndarray) -> np.ndarray:
    images = torch.from_numpy(test_images.astype(np.float32) / 255.0)[:, None]
    return pca_2d(f6_features(_model, images))


def embedding_view(
    run: Run, model, evaluation: Evaluation, test_images: np.ndarray, mtime: float
) -> None:
    st.subheader(_("Where the mistakes live"))
    st.markdown(
        _(
            "Each test digit as a point, placed by the 84 numbers F6 hands to the output layer."
            " Digits the network finds alike land together; a mistake (×) sits where its features"
            " put it, often among the digit it was taken for. Hover to see a digit, click to"
            " inspect it."
        )
    )
    method = st.radio(
        _("Layout"),
        ["PCA", "t-SNE"],
        horizontal=True,
        key="why_layout",
        help=_(
            "PCA: the two directions of largest variance, computed at once. t-SNE: keeps"
            " neighbours together (computed once per run in the background, about a minute)."
        ),
    )
    if method == "PCA":
        with st.spinner(_("F6 features of the 10,000 test digits, then PCA ...")):
            points = pca_points(run.id, mtime, model, test_images)
    else:
        cached = cached_analysis(run, "embedding")
        if cached is None:
            return
        points = cached["tsne"]
    selected = state.get("why_map_selected")
    with st.spinner(_("Drawing 10,000 digits in braille for the hover ...")):
        pictures = braille_pictures(test_images)
    left, right = st.columns([5, 2], gap="medium")
    summary, numbers = embedding_text(points, evaluation.labels, evaluation.predictions, method)
    chart(
        embedding_figure(
            points,
            evaluation.labels,
            evaluation.predictions,
            pictures,
            selected,
            method,
        ),
        summary=summary,
        table=numbers,
        where=left,
        key=f"why_map_{method}",
        on_select=lambda: _clicked(method),
        selection_mode="points",
        config={"displayModeBar": False, "scrollZoom": True},
    )
    with right:
        if selected is None:
            st.info(_("Click a point to inspect that digit here."))
            return
        true_label = int(evaluation.labels[selected])
        predicted = int(evaluation.predictions[selected])
        st.markdown(_("**Test digit #{selected}**").format(selected=selected))
        st.image(
            np.kron(255 - test_images[selected], np.ones((5, 5), np.uint8)),
            width=140,
            alt=_("Test digit #{index}").format(index=selected),
        )
        st.markdown(
            _("True **{label}**, predicted **{predicted}** ({confidence:.1%})").format(
                label=true_label, predicted=predicted, confidence=evaluation.confidence[selected]
            )
            + (" ✗" if true_label != predicted else "")
        )
        bars = probability_bars_figure(evaluation.probabilities[selected], true_label)
        summary, numbers = probability_text(evaluation.probabilities[selected], true_label)
        chart(
            bars.update_layout(title_text=_("Probabilities")),  # the column is narrow
            summary=summary,
            table=numbers,
            key="why_map_probs",
            config=NO_BAR,
        )
        st.button(
            _("What does it look at?"),
            key="why_map_explain",
            on_click=_explain,
            args=(selected,),
            icon=":material/visibility:",
        )
        link = f"?{urlencode({'run': run.id, 'index': selected})}"
        st.caption(_("Or open it in a new tab: [link]({link})").format(link=link))


def _clicked(method: str) -> None:
    points = (state.get(f"why_map_{method}") or {}).get("selection", {}).get("points", [])
    for point in points:
        value = point.get("customdata")
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, int | float) and 0 <= value < 10_000:
            state.why_map_selected = int(value)
            return


def _explain(index: int) -> None:
    """Show the clicked digit in the attribution view."""
    state.why_source = "test digit"
    state.why_index = index
    state.why_view = VIEWS[0]


# The values of the view radio (its session state; the link's ?view= is their index), shown
# translated.
VIEWS = (N_("What it looks at"), N_("Where it breaks"), N_("Where the mistakes live"))
