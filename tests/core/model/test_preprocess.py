"""MNIST-like preprocessing on synthetic strokes: wherever and however large a digit is drawn,
it lands scaled to 20x20 with its centre of mass at the centre of 28x28."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from core.model.preprocess import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    DigitImageError,
    centre_of_mass,
    from_upload,
    mnist_like,
    to_grayscale,
)


def stroke_canvas(top: int, left: int, height: int, width: int, size: int = 280) -> np.ndarray:
    """A '0'-like ring with a heavier left stroke (so its centre of mass is off the middle of
    its bounding box), bright on black, inside the given box."""
    grid_r, grid_c = np.mgrid[0:size, 0:size]
    cy, cx = top + height / 2, left + width / 2
    radius = ((grid_r - cy) / (height / 2)) ** 2 + ((grid_c - cx) / (width / 2)) ** 2
    canvas = ((radius <= 1.0) & (radius >= 0.55)).astype(float)
    canvas[(radius <= 1.0) & (grid_c < cx - width * 0.3)] = 1.0
    return canvas


@pytest.mark.parametrize(
    "top,left,height,width",
    [
        (10, 10, 100, 60),
        (150, 170, 120, 90),
        (40, 200, 60, 40),
        (5, 5, 270, 200),
    ],
)
def test_shifted_and_scaled_strokes_land_centred(top, left, height, width) -> None:
    digit = mnist_like(stroke_canvas(top, left, height, width))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert 0.0 <= digit.min() and digit.max() <= 1.0
    ink = digit > 0.2  # resampling leaves a faint halo around the strokes
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (19, 20, 21)
    centre_r, centre_c = centre_of_mass(digit)
    assert abs(centre_r - 13.5) <= 0.5 and abs(centre_c - 13.5) <= 0.5


def test_same_shape_anywhere_gives_the_same_digit() -> None:
    a = mnist_like(stroke_canvas(10, 10, 100, 60))
    b = mnist_like(stroke_canvas(150, 170, 100, 60))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_canvas_rgba_and_empty_input() -> None:
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    assert to_grayscale(rgba).max() == 0
    with pytest.raises(DigitImageError, match="empty"):
        mnist_like(to_grayscale(rgba))
    rgba[100:180, 120:140] = 255
    assert mnist_like(to_grayscale(rgba)).max() > 0.5


def png_bytes(array: np.ndarray | Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def dark_one_on_white() -> np.ndarray:
    paper = np.full((200, 200), 255, dtype=np.uint8)
    paper[40:160, 90:110] = 0  # a dark '1'
    return paper


def test_upload_dark_ink_on_white_is_inverted() -> None:
    paper = np.full((200, 200), 255, dtype=np.uint8)
    paper[40:160, 90:110] = 0  # a dark '1'
    digit = from_upload(png_bytes(paper))
    assert digit[13, 13:15].max() > 0.5 and digit[0, 0] == 0.0


def test_upload_validation() -> None:
    with pytest.raises(DigitImageError, match="not a readable image"):
        from_upload(b"definitely not an image")
    with pytest.raises(DigitImageError, match="at most 2 MB"):
        from_upload(b"0" * (MAX_UPLOAD_BYTES + 1))
    gif = png_bytes(np.zeros((10, 10), dtype=np.uint8), "GIF")
    with pytest.raises(DigitImageError, match="GIF files are not supported"):
        from_upload(gif)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_bytes(Image.new("L", (20_000, 20_000), 255))  # 400 megapixels in a small file
    assert len(bomb) < MAX_UPLOAD_BYTES
    with pytest.raises(DigitImageError, match="400,000,000 pixels; at most 4 megapixels"):
        from_upload(bomb)
    just_over = png_bytes(Image.new("L", (2_100, 2_000), 255))  # under Pillow's own limit
    assert 2_100 * 2_000 > MAX_UPLOAD_PIXELS
    with pytest.raises(DigitImageError, match="2100x2000 pixels; at most"):
        from_upload(just_over)


@pytest.mark.parametrize("add", ["ztxt", "itxt"])
def test_huge_compressed_text_chunk_is_a_clear_message(add: str) -> None:
    info = PngImagePlugin.PngInfo()
    if add == "ztxt":
        info.add_text("comment", "x" * 2_000_000, zip=True)  # 2 MB unpacked, 2 kB in the file
    else:
        info.add_itxt("comment", "x" * 2_000_000, zip=True)
    data = png_bytes(dark_one_on_white(), pnginfo=info)
    assert len(data) < 10_000
    with pytest.raises(DigitImageError, match="too much text metadata"):
        from_upload(data)


def test_plain_text_chunk_within_the_size_limit_still_reads() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 2_000_000)
    data = png_bytes(dark_one_on_white(), pnginfo=info)
    np.testing.assert_array_equal(from_upload(data), from_upload(png_bytes(dark_one_on_white())))


def test_dark_ink_on_transparent_reads_like_ink_on_paper() -> None:
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)  # transparent black everywhere
    rgba[40:160, 90:110] = (0, 0, 0, 255)  # opaque black ink
    digit = from_upload(png_bytes(rgba))
    np.testing.assert_allclose(digit, from_upload(png_bytes(dark_one_on_white())), atol=1e-6)
    gray_alpha = Image.fromarray(rgba).convert("LA")
    np.testing.assert_allclose(from_upload(png_bytes(gray_alpha)), digit, atol=1e-6)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    # Dark grey ink on light grey paper: every 16-bit value is above 255, so clipping made the
    # whole picture white ("the image is empty").
    paper = np.full((200, 200), 60_000, dtype=np.uint16)
    paper[40:160, 90:110] = 6_000
    data = png_bytes(paper)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    eight_bit = np.full((200, 200), round(60_000 / 257), dtype=np.uint8)
    eight_bit[40:160, 90:110] = round(6_000 / 257)
    np.testing.assert_allclose(from_upload(data), from_upload(png_bytes(eight_bit)), atol=0.02)
    digit = from_upload(data)
    assert digit[13, 13:15].max() > 0.5 and digit[0, 0] == 0.0
