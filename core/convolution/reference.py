"""Reference convolution and pooling in numpy that also say how each output was made.

Everything is 2D internally; 1D is the special case of height 1 (use `as_2d`). For every
output cell the result knows which padded-input cells and which weights it used, which drives
the explorer's animation and its written-out sums. Values equal torch.nn.functional to float
tolerance (tests/core/convolution/test_reference.py). Shapes follow core.arithmetic, so invalid
settings raise the same ValueError messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.convolution.arithmetic import check_groups, conv_output_size, pool_output_size

Pair = tuple[int, int]


def pair(value: int | Pair) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


@dataclass(frozen=True)
class Geometry:
    """Where the window of each output cell sits on the padded input."""

    in_size: Pair  # H, W of the unpadded input
    kernel: Pair
    padding: Pair
    stride: Pair
    dilation: Pair
    out_size: Pair

    @property
    def padded_size(self) -> Pair:
        return (self.in_size[0] + 2 * self.padding[0], self.in_size[1] + 2 * self.padding[1])

    def taps(self, i: int, j: int) -> list[tuple[int, int, int, int]]:
        """(kernel row m, kernel col n, padded row, padded col) for output cell (i, j)."""
        (sh, sw), (dh, dw), (kh, kw) = self.stride, self.dilation, self.kernel
        return [(m, n, i * sh + m * dh, j * sw + n * dw) for m in range(kh) for n in range(kw)]

    def is_padding(self, row: int, col: int) -> bool:
        (ph, pw), (h, w) = self.padding, self.in_size
        return not (ph <= row < ph + h and pw <= col < pw + w)

    def feeds(self, row: int, col: int) -> list[tuple[int, int, int, int]]:
        """(output row i, output col j, kernel row m, kernel col n) of every output cell whose
        window reads padded cell (row, col): the other direction of `taps`."""
        (sh, sw), (dh, dw), (kh, kw) = self.stride, self.dilation, self.kernel
        cells = []
        for m in range(kh):
            top = row - m * dh
            if top < 0 or top % sh or top // sh >= self.out_size[0]:
                continue
            for n in range(kw):
                left = col - n * dw
                if left < 0 or left % sw or left // sw >= self.out_size[1]:
                    continue
                cells.append((top // sh, left // sw, m, n))
        return sorted(cells)

    def unused(self) -> tuple[list[int], list[int]]:
        """Input rows and columns (unpadded indices) that no window reaches."""
        used_rows = {
            r - self.padding[0]
            for i in range(self.out_size[0])
            for m in range(self.kernel[0])
            for r in [i * self.stride[0] + m * self.dilation[0]]
        }
        used_cols = {
            c - self.padding[1]
            for j in range(self.out_size[1])
            for n in range(self.kernel[1])
            for c in [j * self.stride[1] + n * self.dilation[1]]
        }
        return (
            [r for r in range(self.in_size[0]) if r not in used_rows],
            [c for c in range(self.in_size[1]) if c not in used_cols],
        )


def conv_geometry(
    in_size: Pair,
    kernel: Pair,
    padding: Pair = (0, 0),
    stride: Pair = (1, 1),
    dilation: Pair = (1, 1),
) -> Geometry:
    out = tuple(
        conv_output_size(in_size[a], kernel[a], padding[a], stride[a], dilation[a]) for a in (0, 1)
    )
    return Geometry(in_size, kernel, padding, stride, dilation, out)  # type: ignore[arg-type]


def pool_geometry(
    in_size: Pair,
    kernel: Pair,
    stride: Pair | None = None,
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Geometry:
    stride = kernel if stride is None else stride
    out = tuple(
        pool_output_size(in_size[a], kernel[a], stride[a], padding[a], dilation[a]) for a in (0, 1)
    )
    return Geometry(in_size, kernel, padding, stride, dilation, out)  # type: ignore[arg-type]


def _windows(padded: np.ndarray, geometry: Geometry) -> np.ndarray:
    """[..., out_h, out_w, kh, kw] views of the padded input under each window."""
    (kh, kw), (dh, dw), (sh, sw) = geometry.kernel, geometry.dilation, geometry.stride
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    view = sliding_window_view(padded, span, axis=(-2, -1))
    view = view[..., ::dh, ::dw]  # the dilated taps of each window
    out_h, out_w = geometry.out_size
    return view[..., : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw, :, :]


@dataclass(frozen=True)
class ConvResult:
    padded: np.ndarray  # [C_in, Hp, Wp]
    weight: np.ndarray  # [C_out, C_in/g, kh, kw], as applied (flipped for true convolution)
    bias: np.ndarray  # [C_out]
    partial: np.ndarray  # [C_out, C_in/g, out_h, out_w]: each input channel's share, no bias
    pre_activation: np.ndarray  # [C_out, out_h, out_w]: sum over channels + bias
    output: np.ndarray  # after ReLU when asked, else pre_activation
    geometry: Geometry
    groups: int = 1

    def input_channels(self, o: int) -> list[int]:
        """The input channels that output channel o reads: those of its group."""
        per_group = self.weight.shape[1]
        group = o // (self.weight.shape[0] // self.groups)
        return list(range(group * per_group, (group + 1) * per_group))

    def terms(self, o: int, i: int, j: int) -> list[tuple[int, int, int, int, int, float, float]]:
        """(input channel, m, n, padded row, padded col, input value, weight) for output
        (o, i, j); only the input channels of o's group take part."""
        return [
            (c, m, n, r, s, float(self.padded[c, r, s]), float(self.weight[o, local, m, n]))
            for local, c in enumerate(self.input_channels(o))
            for m, n, r, s in self.geometry.taps(i, j)
        ]


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    padding: int | Pair = 0,
    stride: int | Pair = 1,
    dilation: int | Pair = 1,
    flip: bool = False,
    relu: bool = False,
    groups: int = 1,
) -> ConvResult:
    """Cross-correlation of x [C_in, H, W] with weight [C_out, C_in/groups, kh, kw] (flip=True:
    true convolution, the kernel flipped in both axes), zero padding. With groups g, the
    channels split into g groups and output channel o reads only the input channels of its
    group (g = C_in: depthwise)."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if x.ndim != 3 or weight.ndim != 4:
        raise ValueError(
            f"input must be [C_in, H, W] and weights [C_out, C_in/groups, kh, kw];"
            f" got {x.shape} and {weight.shape}"
        )
    check_groups(x.shape[0], weight.shape[0], groups)
    if weight.shape[1] * groups != x.shape[0]:
        raise ValueError(
            f"weights must be [C_out, C_in/groups, kh, kw] = [.., {x.shape[0] // groups}, ..]"
            f" for {x.shape[0]} input channels in {groups} groups; got {weight.shape}"
        )
    padding, stride, dilation = pair(padding), pair(stride), pair(dilation)
    geometry = conv_geometry(x.shape[1:], weight.shape[2:], padding, stride, dilation)
    applied = weight[:, :, ::-1, ::-1] if flip else weight
    b = np.zeros(weight.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    padded = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    windows = _windows(padded, geometry)  # [C_in, oh, ow, kh, kw]
    c_out, per_group = weight.shape[0], weight.shape[1]
    # [g, C_in/g, ...] windows against [g, C_out/g, C_in/g, ...] kernels, one group at a time.
    grouped = windows.reshape(groups, per_group, *windows.shape[1:])
    kernels = applied.reshape(groups, c_out // groups, *applied.shape[1:])
    partial = np.einsum("gcijmn,gocmn->gocij", grouped, kernels).reshape(
        c_out, per_group, *geometry.out_size
    )
    pre = partial.sum(axis=1) + b[:, None, None]
    return ConvResult(
        padded=padded,
        weight=np.ascontiguousarray(applied),
        bias=b,
        partial=partial,
        pre_activation=pre,
        output=np.maximum(pre, 0.0) if relu else pre,
        geometry=geometry,
        groups=groups,
    )


@dataclass(frozen=True)
class PoolResult:
    padded: np.ndarray  # [C, Hp, Wp]; max pooling pads with -inf, average with 0
    output: np.ndarray  # [C, out_h, out_w]
    argmax: np.ndarray | None  # [C, out_h, out_w] index of the winning tap (max pooling)
    geometry: Geometry
    mode: str

    def terms(self, c: int, i: int, j: int) -> list[tuple[int, int, int, int, float]]:
        """(m, n, padded row, padded col, value) of the window of output (c, i, j)."""
        return [
            (m, n, r, s, float(self.padded[c, r, s])) for m, n, r, s in self.geometry.taps(i, j)
        ]


def pool2d(
    x: np.ndarray,
    kernel: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    mode: str = "max",
    dilation: int | Pair = 1,
) -> PoolResult:
    """Max or average pooling of x [C, H, W], as torch (average counts padding zeros)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"pooling mode must be 'max' or 'avg', got {mode!r}")
    x = np.asarray(x, dtype=np.float64)
    kernel, padding, dilation = pair(kernel), pair(padding), pair(dilation)
    stride = kernel if stride is None else pair(stride)
    if mode == "avg" and dilation != (1, 1):
        raise ValueError("average pooling has no dilation in PyTorch: set dilation to 1")
    geometry = pool_geometry(x.shape[1:], kernel, stride, padding, dilation)
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=fill)
    windows = _windows(padded, geometry)
    flat = windows.reshape(*windows.shape[:3], -1)
    if mode == "max":
        return PoolResult(padded, flat.max(axis=-1), flat.argmax(axis=-1), geometry, mode)
    return PoolResult(padded, flat.mean(axis=-1), None, geometry, mode)


def as_2d(x: np.ndarray) -> np.ndarray:
    """A 1D signal [C, L] as a 2D input of height 1: [C, 1, L]."""
    return np.asarray(x)[:, None, :]
