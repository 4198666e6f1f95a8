"""Turn a drawn or uploaded digit into an MNIST-like 28x28 input.

MNIST's own recipe (LeCun et al.): the digit's bounding box is scaled to fit 20x20 (keeping
its aspect ratio), then placed in a 28x28 field so that its centre of mass is at the centre.
Ink is bright on dark, values in [0, 1].
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.i18n import _

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_SIDE = 4000
# Checked from the header, before any pixel is decoded: a PNG of 20000x20000 compresses to a
# few hundred kB but would decode to 400 MB (and several float copies of it after that).
MAX_UPLOAD_PIXELS = 4_000_000
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how 16-bit gray PNGs open
INK_THRESHOLD = 0.1  # of the brightest value: fainter pixels are background noise


class DigitImageError(ValueError):
    """The image cannot be made into a digit; the message says why and what to do."""


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """[H, W] or [H, W, 3/4] (transparent = background) -> float [H, W] in [0, 1]."""
    array = np.asarray(image, dtype=np.float64)
    if array.max(initial=0) > 1.0:
        array = array / 255.0
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[2] in (3, 4):
        gray = array[..., :3].mean(axis=2)
        if array.shape[2] == 4:
            gray = gray * array[..., 3]  # transparent pixels are background
        return gray
    raise DigitImageError(
        _("expected a grayscale or colour image, got an array of shape {shape}").format(
            shape=array.shape
        )
    )


def mnist_like(gray: np.ndarray) -> np.ndarray:
    """Bright ink on dark [H, W] -> float32 [28, 28]: bbox to 20x20, centre of mass centred."""
    gray = np.clip(np.asarray(gray, dtype=np.float64), 0.0, 1.0)
    if gray.max(initial=0.0) <= 0.0:
        raise DigitImageError(_("the image is empty: draw or upload a digit first"))
    ink = gray >= INK_THRESHOLD * gray.max()
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = 20.0 / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize(
        (new_w, new_h), Image.Resampling.LANCZOS
    )
    small = np.asarray(resized, dtype=np.float64) / 255.0
    field = np.zeros((28, 28))
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    field[top : top + new_h, left : left + new_w] = small
    total = field.sum()
    if total <= 0:
        raise DigitImageError(_("the digit vanished when scaled down: draw it larger or bolder"))
    grid_r, grid_c = np.mgrid[0:28, 0:28]
    centre_r, centre_c = (grid_r * field).sum() / total, (grid_c * field).sum() / total
    shift_r, shift_c = round(13.5 - centre_r), round(13.5 - centre_c)
    return np.clip(shift(field, shift_r, shift_c), 0.0, 1.0).astype(np.float32)


def shift(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Move the content by (rows, cols); what leaves the field is dropped, never wrapped."""
    moved = np.zeros_like(image)
    h, w = image.shape
    src_r = slice(max(0, -rows), min(h, h - rows))
    src_c = slice(max(0, -cols), min(w, w - cols))
    dst_r = slice(max(0, rows), min(h, h + rows))
    dst_c = slice(max(0, cols), min(w, w + cols))
    moved[dst_r, dst_c] = image[src_r, src_c]
    return moved


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    grid_r, grid_c = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    total = image.sum()
    return float((grid_r * image).sum() / total), float((grid_c * image).sum() / total)


def image_to_gray(image: Image.Image) -> np.ndarray:
    """A decoded PIL image of any mode -> float [H, W] in [0, 1], as the eye sees it.

    Transparency is composited on white first (a transparent background is paper, whatever
    colour its invisible pixels hold), and 16-bit grayscale is scaled, not clipped, to [0, 1].
    """
    if image.mode in SIXTEEN_BIT_MODES:
        return np.clip(np.asarray(image, dtype=np.float64) / 65535.0, 0.0, 1.0)
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def decode_upload(data: bytes) -> np.ndarray:
    """Untrusted PNG/JPEG bytes -> float [H, W] in [0, 1]; every way it can fail is a
    DigitImageError with a one-line reason, and nothing large is decoded."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DigitImageError(
            _("the file is {size:.1f} MB; upload an image of at most {limit} MB").format(
                size=len(data) / 1e6, limit=MAX_UPLOAD_BYTES // (1024 * 1024)
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format not in ("PNG", "JPEG"):
                raise DigitImageError(
                    _("{format} files are not supported: use PNG or JPEG").format(
                        format=image.format
                    )
                    if image.format
                    else _("this files are not supported: use PNG or JPEG")
                )
            width, height = image.size
            if max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS:
                raise too_large(width, height)
            image.load()
            return image_to_gray(image)
    except DigitImageError:
        raise
    except UnidentifiedImageError:
        raise DigitImageError(_("not a readable image: not a PNG or JPEG file")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Image.open refuses far larger images itself, before we can read their size.
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        count = f"{int(pixels[1]):,}" if pixels else _("too many")
        raise DigitImageError(
            _(
                "the image has {count} pixels; at most {megapixels:g} megapixels: crop or shrink it"
            ).format(count=count, megapixels=MAX_UPLOAD_PIXELS / 1e6)
        ) from None
    except ValueError as error:
        if "text" in str(error).lower():  # PngImagePlugin.MAX_TEXT_CHUNK / MAX_TEXT_MEMORY
            raise DigitImageError(
                _("the PNG carries too much text metadata: save it again without metadata")
            ) from None
        raise DigitImageError(
            _("not a readable image ({error})").format(error=one_line(error))
        ) from None
    except Exception as error:  # noqa: BLE001 - any decoder failure on untrusted bytes
        raise DigitImageError(
            _("not a readable image ({error})").format(error=one_line(error))
        ) from None


def one_line(error: Exception, limit: int = 120) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def too_large(width: int, height: int) -> DigitImageError:
    return DigitImageError(
        _(
            "the image is {width}x{height} pixels; at most {side} on a side and "
            "{megapixels:g} megapixels: crop or shrink it"
        ).format(
            width=width, height=height, side=MAX_UPLOAD_SIDE, megapixels=MAX_UPLOAD_PIXELS / 1e6
        )
    )


def from_upload(data: bytes) -> np.ndarray:
    """An uploaded PNG/JPEG -> MNIST-like 28x28. Dark ink on a light background is inverted."""
    gray = decode_upload(data)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # light paper, dark ink: MNIST is the other way round
        gray = 1.0 - gray
    return mnist_like(gray)
