"""LeNet-5 as in the lecture (LESSON.md section 7), and its layer table computed by core.arithmetic.

The network takes MNIST's 28x28 digits, pads them by 2 to 32x32, then:
C1 conv 5x5x6 + ReLU, S2 max pool 2, C3 conv 5x5x16 + ReLU, S4 max pool 2,
C5 conv 5x5x120 + ReLU, F6 fully connected 84 + ReLU, out fully connected 10.
Softmax is folded into the cross-entropy loss. 61,706 parameters, 416,520 MACs per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.arithmetic import (
    conv_macs,
    conv_output_size,
    conv_param_count,
    fc_macs,
    fc_param_count,
    pool_output_size,
    receptive_field,
)

INPUT_PADDING = 2  # 28x28 MNIST -> the 32x32 input of the original LeNet-5


class FullyConnectedConv2d(nn.Conv2d):
    """A convolution whose kernel covers its whole input, as C5's 5x5 kernel on a 5x5 map.

    It is then one matrix product: computing it with `F.linear` gives the same numbers
    as `F.conv2d` (to float rounding) and, measured on a 2-core CPU, trains LeNet-5
    about 15% faster (benchmarks/train_throughput.py). Any other input falls back to the
    ordinary convolution.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        whole_input = tuple(x.shape[-2:]) == tuple(self.kernel_size)
        plain = self.padding == (0, 0) and self.stride == (1, 1) and self.groups == 1
        if not (whole_input and plain and self.dilation == (1, 1)):
            return super().forward(x)
        out = F.linear(x.flatten(1), self.weight.flatten(1), self.bias)
        return out[:, :, None, None]


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.C1 = nn.Conv2d(1, 6, kernel_size=5)
        self.S2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.C3 = nn.Conv2d(6, 16, kernel_size=5)
        self.S4 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.C5 = FullyConnectedConv2d(16, 120, kernel_size=5)  # in effect fully connected
        self.F6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for MNIST images [N, 1, 28, 28] (padded here to 32x32)."""
        x = F.pad(x, (INPUT_PADDING,) * 4)
        x = self.S2(F.relu(self.C1(x)))
        x = self.S4(F.relu(self.C3(x)))
        x = F.relu(self.C5(x)).flatten(1)
        x = F.relu(self.F6(x))
        return self.out(x)


@dataclass(frozen=True)
class LayerRow:
    name: str
    operation: str
    output_shape: tuple[int, ...]
    parameters: int
    macs: int
    receptive_field: int  # input pixels (of the 32x32 input) seen along one axis


def lenet_layer_table(input_size: int = 32) -> list[LayerRow]:
    """The layer table of LESSON.md section 7, every number computed by core.arithmetic."""
    rows: list[LayerRow] = []
    size, channels = input_size, 1
    geometry: list[tuple[int, int, int]] = []  # (kernel, stride, dilation) so far

    def conv(name: str, out_channels: int, kernel: int = 5) -> None:
        nonlocal size, channels
        size = conv_output_size(size, kernel)
        geometry.append((kernel, 1, 1))
        rows.append(
            LayerRow(
                name,
                f"conv {kernel}x{kernel}, {out_channels} channels, + ReLU",
                (out_channels, size, size),
                conv_param_count(channels, out_channels, (kernel, kernel)),
                conv_macs(channels, out_channels, (kernel, kernel), (size, size)),
                receptive_field(geometry)[-1].size,
            )
        )
        channels = out_channels

    def pool(name: str, kernel: int = 2) -> None:
        nonlocal size
        size = pool_output_size(size, kernel)
        geometry.append((kernel, kernel, 1))
        rows.append(
            LayerRow(
                name,
                f"max pool {kernel}x{kernel}, stride {kernel}",
                (channels, size, size),
                0,
                0,
                receptive_field(geometry)[-1].size,
            )
        )

    def fc(name: str, in_features: int, out_features: int, relu: bool) -> None:
        rows.append(
            LayerRow(
                name,
                f"fully connected, {out_features}" + (", + ReLU" if relu else ""),
                (out_features,),
                fc_param_count(in_features, out_features),
                fc_macs(in_features, out_features),
                rows[-1].receptive_field,
            )
        )

    conv("C1", 6)
    pool("S2")
    conv("C3", 16)
    pool("S4")
    conv("C5", 120)
    fc("F6", 120, 84, relu=True)
    fc("out", 84, 10, relu=False)
    return rows


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
