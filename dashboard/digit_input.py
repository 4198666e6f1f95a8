"""One digit for the network: a test digit by index, one drawn on a canvas, or an uploaded
PNG/JPEG, made MNIST-like (core/model/preprocess.py). Shared by the pages that explain a digit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.i18n import N_, _
from core.model.preprocess import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    DigitImageError,
    from_upload,
    mnist_like,
    to_grayscale,
)
from dashboard.text import plain
from dashboard.widgets import mnist_test_digits

SOURCES = (N_("test digit"), N_("draw"), N_("upload"))
CANVAS_PIXELS = 280
LAST_INDEX = 9_999


@dataclass(frozen=True)
class ChosenDigit:
    image: np.ndarray | None  # float32 [28, 28] in [0, 1]; None until one is drawn/uploaded
    true_label: int | None  # known for test digits only
    index: int | None  # the test digit's index


def index_from_link(key: str) -> None:
    """The link's `?index=` (clamped to 0-9,999) in `st.session_state[key]` the first time."""
    if key in st.session_state:
        return
    raw = st.query_params.get("index")
    try:
        wanted = int(raw) if raw else 0
    except ValueError:
        st.warning(
            _("Ignored the link's digit index {index}: not a number; showing test digit 0.").format(
                index=plain(repr(raw[:12]))
            )
        )
        st.session_state[key] = 0
        return
    shown = min(max(wanted, 0), LAST_INDEX)
    if shown != wanted:
        st.warning(
            _(
                "The link's digit index {wanted:,} is outside the test set (0 to {last:,}); "
                "showing test digit {shown:,} instead."
            ).format(wanted=wanted, last=LAST_INDEX, shown=shown)
        )
    st.session_state[key] = shown


def digit_picture(image: np.ndarray, caption: str, scale: int = 6) -> None:
    """The digit enlarged, dark ink on light, as the network's 28x28 input."""
    st.image(
        np.kron(255 - (image * 255).astype(np.uint8), np.ones((scale, scale), np.uint8)),
        caption=caption,
        width=28 * scale,
        alt=caption,
    )


def choose_digit(source: str, prefix: str) -> ChosenDigit:
    """The input widgets for `source` (one of SOURCES); keys start with `prefix`."""
    if source == "test digit":
        digits = mnist_test_digits()
        if digits is None:
            st.error(_("MNIST is not ready: run `python -m core.model.mnist fetch`."))
            st.stop()
        images, labels = digits
        index_from_link(f"{prefix}_index")
        index = st.number_input(_("Test digit index"), 0, len(images) - 1, key=f"{prefix}_index")
        st.query_params["index"] = str(index)
        return ChosenDigit(images[index].astype(np.float32) / 255.0, int(labels[index]), index)
    if source == "draw":
        from streamlit_drawable_canvas import st_canvas

        st.caption(_("Draw one digit with the mouse: it is scaled and centred like MNIST."))
        drawn = st_canvas(
            stroke_width=18,
            stroke_color="#ffffff",
            background_color="#000000",
            height=CANVAS_PIXELS,
            width=CANVAS_PIXELS,
            drawing_mode="freedraw",
            key=f"{prefix}_canvas",
            return_image_data=True,
        )
        if drawn.image_data is not None and drawn.image_data[..., :3].max() > 0:
            try:
                return ChosenDigit(mnist_like(to_grayscale(drawn.image_data)), None, None)
            except DigitImageError as error:
                st.warning(plain(error))
        return ChosenDigit(None, None, None)
    upload = st.file_uploader(
        _("A PNG or JPEG of one digit (at most {size} MB, {megapixels} megapixels)").format(
            size=MAX_UPLOAD_BYTES // 2**20, megapixels=MAX_UPLOAD_PIXELS // 1_000_000
        ),
        type=["png", "jpg", "jpeg"],
        max_upload_size=MAX_UPLOAD_BYTES // 2**20,
        key=f"{prefix}_upload",
    )
    if upload is not None:
        try:
            return ChosenDigit(from_upload(upload.getvalue()), None, None)
        except DigitImageError as error:
            st.error(_("Could not use this file: {error}.").format(error=plain(error)))
    return ChosenDigit(None, None, None)
