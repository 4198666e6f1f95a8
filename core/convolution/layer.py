"""One explorer layer: its settings -> the effective sizes -> weights, result and numbers.

The convolution explorer's arithmetic, without Streamlit: `LayerSetting.from_values` reads the
page's settings (a 1D signal is a 2D input of height 1 with a 1-tall kernel; pooling keeps the
channels), `compute_layer` draws the weights and runs the numpy reference, `layer_numbers` gives
the metrics the page shows (tests/core/convolution/test_layer.py checks them against torch's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.convolution.arithmetic import (
    conv_macs,
    conv_param_count,
    conv_transpose_macs,
    dilated_kernel_span,
    fc_param_count,
)
from core.convolution.reference import ConvResult, PoolResult, conv2d, pool2d
from core.convolution.transposed import TransposedResult, conv_transpose2d
from core.i18n import N_

Pair = tuple[int, int]

OPERATIONS = (
    N_("convolution"),
    N_("transposed convolution"),
    N_("max pooling"),
    N_("average pooling"),
)
KERNEL_PRESETS_2D = (
    N_("random integers"),
    N_("identity"),
    N_("box blur"),
    N_("sharpen"),
    N_("Sobel x"),
    N_("Sobel y"),
    N_("Laplacian (edges)"),
)
KERNEL_PRESETS_1D = (N_("random integers"), N_("identity"), N_("moving average"), N_("difference"))
_FIXED_3X3 = {
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Laplacian (edges)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def kernel_preset(name: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One [height, width] kernel. Named 3x3 filters need a 3x3 kernel (else ValueError)."""
    if name in _FIXED_3X3:
        if (height, width) != (3, 3):
            raise ValueError(f"the {name} kernel is 3x3: set the kernel size to 3 x 3")
        return np.array(_FIXED_3X3[name], dtype=float)
    if name == "identity":
        kernel = np.zeros((height, width))
        kernel[height // 2, width // 2] = 1.0
        return kernel
    if name in ("box blur", "moving average"):
        return np.full((height, width), 1.0 / (height * width))
    if name == "difference":
        kernel = np.zeros((height, width))
        kernel[0, 0], kernel[0, -1] = -1.0, 1.0
        return kernel
    return rng.integers(-2, 3, size=(height, width)).astype(float)


@dataclass(frozen=True)
class LayerSetting:
    """The sizes the layer really has (2D internally: height 1 in 1D)."""

    op: str
    one_d: bool
    height: int
    width: int
    kernel: Pair
    padding: Pair
    stride: Pair
    dilation: Pair
    output_padding: Pair
    c_in: int
    c_out: int
    groups: int
    flip: bool
    relu: bool
    bias: bool

    @property
    def pooling(self) -> bool:
        return "pooling" in self.op

    @property
    def transposed(self) -> bool:
        return self.op == "transposed convolution"

    @classmethod
    def from_values(cls, values: Mapping) -> LayerSetting:
        """From the explorer's keys (dashboard/convolution/state.py: mode, op, h, w, kh, ...)."""
        one_d, op = values["mode"] == "1D", values["op"]
        pooling = "pooling" in op
        kh, ph, sh, dh = (
            (1, 0, 1, 1) if one_d else (values["kh"], values["ph"], values["sh"], values["dh"])
        )
        dw = values["dw"]
        if op == "average pooling":
            dh = dw = 1
        return cls(
            op=op,
            one_d=one_d,
            height=1 if one_d else values["h"],
            width=values["w"],
            kernel=(kh, values["kw"]),
            padding=(ph, values["pw"]),
            stride=(sh, values["sw"]),
            dilation=(dh, dw),
            output_padding=(0 if one_d else values["oph"], values["opw"]),
            c_in=values["cin"],
            c_out=values["cin"] if pooling else values["cout"],
            groups=1 if pooling else values["groups"],
            flip=bool(values["flip"]) and op == "convolution",
            relu=bool(values["relu"]) and not pooling,
            bias=bool(values["bias"]),
        )


@dataclass(frozen=True)
class LayerResult:
    """`shown` is what the window slides over (for a transposed convolution: the plain
    convolution over the stretched input); `output` is what the layer gives (after ReLU)."""

    result: ConvResult | PoolResult | TransposedResult
    shown: ConvResult | PoolResult
    output: np.ndarray
    weight: np.ndarray | None
    bias: np.ndarray | None


def compute_layer(
    setting: LayerSetting, x: np.ndarray, kernel: str, rng: np.random.Generator
) -> LayerResult:
    """Draw the weights (`kernel` preset, biases -2..2 from `rng`) and run the layer on x
    [C_in, H, W]. Settings that give no output raise ValueError saying why."""
    s = setting
    if s.pooling:
        mode = "max" if s.op == "max pooling" else "avg"
        result = pool2d(x, s.kernel, s.stride, s.padding, mode, s.dilation)
        return LayerResult(result, result, result.output, None, None)
    if s.c_in % s.groups or s.c_out % s.groups:
        raise ValueError(
            f"groups ({s.groups}) must divide the input channels ({s.c_in}) and the output"
            f" channels ({s.c_out})"
        )
    # Conv weights are [C_out, C_in/g, kh, kw]; transposed ones [C_in, C_out/g, kh, kw].
    if s.transposed:
        stacks, per_stack = s.c_in, s.c_out // s.groups
    else:
        stacks, per_stack = s.c_out, s.c_in // s.groups
    kh, kw = s.kernel
    weight = np.stack(
        [
            np.stack([kernel_preset(kernel, kh, kw, rng) for _unused in range(per_stack)])
            for _unused in range(stacks)
        ]
    )
    bias = rng.integers(-2, 3, size=s.c_out).astype(float) if s.bias else None
    if s.transposed:
        result = conv_transpose2d(
            x, weight, bias, s.stride, s.padding, s.output_padding, s.dilation, s.groups
        )
        output = np.maximum(result.output, 0.0) if s.relu else result.output
        return LayerResult(result, result.conv, output, weight, bias)
    result = conv2d(x, weight, bias, s.padding, s.stride, s.dilation, s.flip, s.relu, s.groups)
    return LayerResult(result, result, result.output, weight, bias)


@dataclass(frozen=True)
class LayerNumbers:
    """The explorer's metrics. `parameters`, `fc_parameters` and `macs` are None for pooling
    (`operations` counts its comparisons or additions); `stretched` only for a transposed one."""

    out_size: Pair
    parameters: int | None
    fc_parameters: int | None
    macs: int | None
    operations: int
    receptive_field: Pair
    stretched: Pair | None


def layer_numbers(setting: LayerSetting, layer: LayerResult) -> LayerNumbers:
    s = setting
    out_h, out_w = layer.shown.geometry.out_size
    (kh, kw), (dh, dw) = s.kernel, s.dilation
    params = fc = macs = None
    if not s.pooling:
        params = conv_param_count(s.c_in, s.c_out, s.kernel, bias=s.bias, groups=s.groups)
        fc = fc_param_count(s.c_in * s.height * s.width, s.c_out * out_h * out_w, bias=s.bias)
        if s.transposed:
            macs = conv_transpose_macs(s.c_in, s.c_out, s.kernel, (s.height, s.width), s.groups)
        else:
            macs = conv_macs(s.c_in, s.c_out, s.kernel, (out_h, out_w), s.groups)
    stretched = None
    if s.transposed:
        hs, ws = layer.result.stretched.shape[1:]
        stretched = (hs, ws)
    return LayerNumbers(
        out_size=(out_h, out_w),
        parameters=params,
        fc_parameters=fc,
        macs=macs,
        operations=s.c_out * out_h * out_w * kh * kw,
        receptive_field=(dilated_kernel_span(kh, dh), dilated_kernel_span(kw, dw)),
        stretched=stretched,
    )
