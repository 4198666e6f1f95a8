"""Convolution arithmetic: output sizes and parameter counts, by PyTorch's rules.

Whatever torch accepts, these functions compute the same shape; whatever torch
rejects, they reject with a ValueError that names the constraint and the numbers.
Formulas are LESSON.md sections 3-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def _require_non_negative(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be at least 0, got {value}")


def _require_flag(**values: bool) -> None:
    # A string such as "no" is truthy: only a real True/False says what the caller meant.
    for name, value in values.items():
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")


def _sizes(name: str, value: int | tuple[int, ...]) -> tuple[int, ...]:
    """One size or a non-empty sequence of sizes, each a whole number of at least 1."""
    if isinstance(value, (tuple, list)):
        sizes = tuple(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        sizes = (value,)
    else:
        raise ValueError(f"{name} must be a whole number or a tuple of them, got {value!r}")
    if not sizes:
        raise ValueError(f"{name} must have at least one dimension")
    for axis, size in enumerate(sizes):
        _require_positive(**{f"{name} (axis {axis})" if len(sizes) > 1 else name: size})
    return sizes


def dilated_kernel_span(kernel: int, dilation: int = 1) -> int:
    """Cells covered by a kernel of ``kernel`` taps spread ``dilation`` apart."""
    _require_positive(kernel=kernel, dilation=dilation)
    return dilation * (kernel - 1) + 1


def conv_output_size(
    size: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1
) -> int:
    """Output length along one axis: floor((in + 2p - d(k-1) - 1) / s) + 1."""
    _require_positive(size=size, kernel=kernel, stride=stride, dilation=dilation)
    _require_non_negative(padding=padding)
    span = dilated_kernel_span(kernel, dilation)
    padded = size + 2 * padding
    if span > padded:
        raise ValueError(
            f"dilated kernel spans {span} cells but the padded input has {padded}"
            f" ({size} + 2 x {padding} padding)"
        )
    return (padded - span) // stride + 1


def pool_output_size(
    size: int,
    kernel: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of max/avg pooling along one axis; stride defaults to the kernel size."""
    stride = kernel if stride is None else stride
    _require_positive(size=size, kernel=kernel, stride=stride, dilation=dilation)
    _require_non_negative(padding=padding)
    _require_flag(ceil_mode=ceil_mode)
    if padding > kernel // 2:
        raise ValueError(
            f"pooling padding must be at most half the kernel size ({kernel} // 2 = {kernel // 2}),"
            f" got {padding}"
        )
    span = dilated_kernel_span(kernel, dilation)
    numerator = size + 2 * padding - span
    out = (math.ceil(numerator / stride) if ceil_mode else numerator // stride) + 1
    # PyTorch: in ceil mode the last window must start inside the input or its left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError(
            f"pooling window spans {span} cells but the padded input has {size + 2 * padding}"
            f" ({size} + 2 x {padding} padding): the output would be empty"
        )
    return out


def _kernel_volume(kernel_size: int | tuple[int, ...]) -> int:
    return math.prod(_sizes("kernel_size", kernel_size))


def check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """ValueError unless `groups` divides both channel counts (PyTorch's rule)."""
    _require_positive(in_channels=in_channels, out_channels=out_channels, groups=groups)
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise ValueError(f"{name} ({channels}) must be divisible by groups ({groups})")


def conv_param_count(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, ...],
    bias: bool = True,
    groups: int = 1,
) -> int:
    """Weights C_in/g * C_out * prod(K) plus C_out biases (LESSON.md section 3).

    The same count holds for a transposed conv layer (its weight is [C_in, C_out/g, K...]).
    """
    check_groups(in_channels, out_channels, groups)
    _require_flag(bias=bias)
    weights = in_channels // groups * out_channels * _kernel_volume(kernel_size)
    return weights + (out_channels if bias else 0)


def fc_param_count(in_features: int, out_features: int, bias: bool = True) -> int:
    """A fully connected layer: N_in x N_out weights plus N_out biases."""
    _require_positive(in_features=in_features, out_features=out_features)
    _require_flag(bias=bias)
    return in_features * out_features + (out_features if bias else 0)


@dataclass(frozen=True)
class ConvVersusFC:
    """One 2D conv layer and the fully connected layer with the same input and output sizes."""

    in_shape: tuple[int, int, int]  # C_in, H, W
    out_shape: tuple[int, int, int]  # C_out, H_out, W_out
    conv_params: int
    fc_params: int

    @property
    def in_features(self) -> int:
        return math.prod(self.in_shape)

    @property
    def out_features(self) -> int:
        return math.prod(self.out_shape)

    @property
    def ratio(self) -> float:
        """How many times more parameters the fully connected layer needs."""
        return self.fc_params / self.conv_params


def conv_versus_fc(
    height: int,
    width: int,
    in_channels: int,
    out_channels: int,
    kernel: int,
    padding: int = 0,
    bias: bool = True,
) -> ConvVersusFC:
    """Parameter counts of a square-kernel, stride-1 conv layer and its fully connected twin."""
    out_h = conv_output_size(height, kernel, padding)
    out_w = conv_output_size(width, kernel, padding)
    in_shape = (in_channels, height, width)
    out_shape = (out_channels, out_h, out_w)
    return ConvVersusFC(
        in_shape=in_shape,
        out_shape=out_shape,
        conv_params=conv_param_count(in_channels, out_channels, (kernel, kernel), bias=bias),
        fc_params=fc_param_count(math.prod(in_shape), math.prod(out_shape), bias=bias),
    )


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, ...],
    output_size: int | tuple[int, ...],
    groups: int = 1,
) -> int:
    """Multiply-accumulates of one conv layer's forward pass for one input (biases excluded)."""
    check_groups(in_channels, out_channels, groups)
    outputs = math.prod(_sizes("output_size", output_size))
    weights_per_output = in_channels // groups * _kernel_volume(kernel_size)
    return out_channels * outputs * weights_per_output


def fc_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer for one input (biases excluded)."""
    _require_positive(in_features=in_features, out_features=out_features)
    return in_features * out_features


@dataclass(frozen=True)
class ReceptiveField:
    size: int  # input cells seen by one output cell, along one axis
    jump: int  # input cells between neighbouring output cells (the product of the strides)


def receptive_field(layers: list[tuple[int, int, int]]) -> list[ReceptiveField]:
    """Receptive field after each layer of a stack of (kernel, stride, dilation) along one axis.

    r_out = r_in + (d(k-1)) * j_in and j_out = j_in * s, starting from r = j = 1.
    """
    if not isinstance(layers, (tuple, list)):
        raise ValueError(f"layers must be a list of (kernel, stride, dilation), got {layers!r}")
    size, jump, fields = 1, 1, []
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 3:
            raise ValueError(f"layer {index} must be (kernel, stride, dilation), got {layer!r}")
        kernel, stride, dilation = layer
        _require_positive(kernel=kernel, stride=stride, dilation=dilation)
        size += (dilated_kernel_span(kernel, dilation) - 1) * jump
        jump *= stride
        fields.append(ReceptiveField(size, jump))
    return fields


PADDING_PRESETS = ("valid", "same", "full")


def padding_preset(name: str, kernel: int, dilation: int = 1) -> int:
    """Padding along one axis for the presets of the lecture (stride 1):

    valid: 0, no padding; same: (span - 1) / 2, output as long as the input (exact when the
    dilated kernel span is odd; an even span leaves the output one shorter, since the padding
    here is the same on both sides); full: span - 1, every partial overlap counts.
    """
    _require_positive(kernel=kernel, dilation=dilation)
    span = dilated_kernel_span(kernel, dilation)
    if name == "valid":
        return 0
    if name == "same":
        return (span - 1) // 2
    if name == "full":
        return span - 1
    raise ValueError(f"padding preset must be one of {', '.join(PADDING_PRESETS)}, got {name!r}")


def conv_transpose_output_size(
    size: int,
    kernel: int,
    padding: int = 0,
    stride: int = 1,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """Output length of a transposed convolution along one axis (PyTorch's rule):

    (in - 1)·s - 2p + d(k - 1) + output_padding + 1.

    It is the input length of the convolution with the same settings run backwards; output
    padding picks one of the `stride` input lengths that this convolution maps to the same size.
    """
    _require_positive(size=size, kernel=kernel, stride=stride, dilation=dilation)
    _require_non_negative(padding=padding, output_padding=output_padding)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(
            f"output padding must be smaller than either stride or dilation, got output padding"
            f" {output_padding} with stride {stride} and dilation {dilation}"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ValueError(
            f"output size is too small: ({size} - 1)·{stride} - 2·{padding} + {dilation}·"
            f"({kernel} - 1) + {output_padding} + 1 = {out}"
        )
    return out


def conv_transpose_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, ...],
    input_size: int | tuple[int, ...],
    groups: int = 1,
) -> int:
    """Multiply-accumulates of one transposed conv layer for one input (biases excluded).

    Each input value is multiplied by every weight of its group's kernels and added into the
    output: C_in · positions_in · C_out/g · prod(K). (Its parameters are `conv_param_count`'s:
    the weight is [C_in, C_out/g, K...], the same number of weights as the forward layer's.)
    """
    check_groups(in_channels, out_channels, groups)
    positions = math.prod(_sizes("input_size", input_size))
    return in_channels * positions * (out_channels // groups) * _kernel_volume(kernel_size)


@dataclass(frozen=True)
class LayerCost:
    name: str
    params: int
    macs: int


def grouped_conv_costs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, ...],
    output_size: int | tuple[int, ...],
    groups: int,
    bias: bool = True,
) -> list[LayerCost]:
    """Parameters and MACs of a standard conv, the same conv with `groups` groups, and a
    depthwise-separable pair (a depthwise conv, groups = C_in, then a 1x1 conv), all with the
    same input channels, output channels and output size (stride-1-like padding assumed for
    the 1x1 step, which keeps the size)."""
    kernel = _sizes("kernel_size", kernel_size)
    ones = (1,) * len(kernel)
    depthwise = LayerCost(
        "depthwise",
        conv_param_count(in_channels, in_channels, kernel, bias, groups=in_channels),
        conv_macs(in_channels, in_channels, kernel, output_size, groups=in_channels),
    )
    pointwise = LayerCost(
        "1x1 pointwise",
        conv_param_count(in_channels, out_channels, ones, bias),
        conv_macs(in_channels, out_channels, ones, output_size),
    )
    return [
        LayerCost(
            "standard",
            conv_param_count(in_channels, out_channels, kernel, bias),
            conv_macs(in_channels, out_channels, kernel, output_size),
        ),
        LayerCost(
            f"grouped (g={groups})",
            conv_param_count(in_channels, out_channels, kernel, bias, groups=groups),
            conv_macs(in_channels, out_channels, kernel, output_size, groups=groups),
        ),
        LayerCost(
            "depthwise-separable",
            depthwise.params + pointwise.params,
            depthwise.macs + pointwise.macs,
        ),
    ]


def causal_padding(kernel: int, dilation: int = 1) -> int:
    """Left padding of a causal 1D convolution: d(k - 1), so output t sees inputs up to t only
    and the output is as long as the input."""
    return dilated_kernel_span(kernel, dilation) - 1
