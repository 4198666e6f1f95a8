"""Transposed convolution in numpy, the way conv_arithmetic explains it.

A transposed convolution with stride s, padding p, dilation d and output padding a equals a
plain stride-1 convolution (dilation d, the kernel flipped, input and output channels swapped
within each group) sliding over the input "stretched": s - 1 zeros inserted between
neighbouring cells, then d(k - 1) - p zeros on the top/left and d(k - 1) - p + a on the
bottom/right (a negative amount crops instead). The result keeps that stretched input and the
plain convolution's record of every window, so the explorer animates it like any other
convolution. Values equal torch.nn.functional.conv_transpose2d
(tests/core/convolution/test_transposed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.convolution.arithmetic import check_groups, conv_transpose_output_size
from core.convolution.reference import ConvResult, Pair, conv2d, pair


@dataclass(frozen=True)
class TransposedResult:
    stretched: np.ndarray  # [C_in, Hs, Ws]: zeros inserted and padded; the conv slides over it
    source: np.ndarray  # [Hs, Ws, 2] input (row, col) held by each stretched cell, -1 for a zero
    conv: ConvResult  # the plain convolution over `stretched`; its output is the result
    before: Pair  # zeros added on the top and the left (negative: cells cropped)
    after: Pair  # zeros added on the bottom and the right (output padding included)

    @property
    def output(self) -> np.ndarray:
        return self.conv.output

    @property
    def real(self) -> np.ndarray:
        """[Hs, Ws] True where the stretched cell holds an input value."""
        return self.source[..., 0] >= 0


def _edge(array: np.ndarray, axis: int, before: int, after: int, fill: float) -> np.ndarray:
    """Pad (positive) or crop (negative) `array` along `axis` on both ends."""
    widths = [(0, 0)] * array.ndim
    widths[axis] = (max(before, 0), max(after, 0))
    array = np.pad(array, widths, constant_values=fill)
    size = array.shape[axis]
    index = [slice(None)] * array.ndim
    index[axis] = slice(max(-before, 0), size - max(-after, 0))
    return array[tuple(index)]


def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> TransposedResult:
    """Transposed convolution of x [C_in, H, W] with weight [C_in, C_out/groups, kh, kw]
    (PyTorch's layout for ConvTranspose2d), as a plain convolution over the stretched input."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if x.ndim != 3 or weight.ndim != 4 or weight.shape[0] != x.shape[0]:
        raise ValueError(
            f"input must be [C_in, H, W] and weights [C_in, C_out/groups, kh, kw] with the same"
            f" C_in; got {x.shape} and {weight.shape}"
        )
    c_in, per_group_out = weight.shape[:2]
    c_out = per_group_out * groups
    check_groups(c_in, c_out, groups)
    stride, padding = pair(stride), pair(padding)
    output_padding, dilation = pair(output_padding), pair(dilation)
    kernel = weight.shape[2:]
    expected = tuple(
        conv_transpose_output_size(
            x.shape[1 + a], kernel[a], padding[a], stride[a], dilation[a], output_padding[a]
        )
        for a in (0, 1)
    )
    h, w = x.shape[1:]
    stretched = np.zeros((c_in, (h - 1) * stride[0] + 1, (w - 1) * stride[1] + 1))
    stretched[:, :: stride[0], :: stride[1]] = x
    source = np.full((*stretched.shape[1:], 2), -1)
    rows, cols = np.mgrid[0:h, 0:w]
    source[:: stride[0], :: stride[1]] = np.stack([rows, cols], axis=-1)
    before = tuple(dilation[a] * (kernel[a] - 1) - padding[a] for a in (0, 1))
    after = tuple(before[a] + output_padding[a] for a in (0, 1))
    for a in (0, 1):
        stretched = _edge(stretched, 1 + a, before[a], after[a], 0.0)
        source = _edge(source, a, before[a], after[a], -1)
    # Input channel c of group g feeds output channel o of g through weight[c, o]: the plain
    # convolution needs [C_out, C_in/g, kh, kw], each kernel flipped.
    per_group_in = c_in // groups
    grouped = weight.reshape(groups, per_group_in, per_group_out, *kernel)
    plain = grouped.transpose(0, 2, 1, 3, 4).reshape(c_out, per_group_in, *kernel)
    plain = plain[:, :, ::-1, ::-1]
    conv = conv2d(stretched, plain, bias, 0, 1, dilation, groups=groups)
    assert conv.geometry.out_size == expected, (conv.geometry.out_size, expected)
    return TransposedResult(stretched, source, conv, before, after)  # type: ignore[arg-type]
