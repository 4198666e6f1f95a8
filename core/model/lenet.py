"""LeNet-5 as in the lecture (LESSON.md section 7), and its layer table computed by core.arithmetic.

The network takes MNIST's 28x28 digits, pads them by 2 to 32x32, then:
C1 conv 5x5x6 + ReLU, S2 max pool 2, C3 conv 5x5x16 + ReLU, S4 max pool 2,
C5 conv 5x5x120 + ReLU, F6 fully connected 84 + ReLU, out fully connected 10.
Softmax is folded into the cross-entropy loss. 61,706 parameters, 416,520 MACs per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.convolution.arithmetic import (
    conv_macs,
    conv_output_size,
    conv_param_count,
    fc_macs,
    fc_param_count,
    pool_output_size,
    receptive_field,
)
from core.i18n import N_, _, ltr


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


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}
POOLINGS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
POOLING_NAMES = {"max": N_("max pool"), "avg": N_("average pool")}
# The ranges the pages offer, and the command line and saved configs are held to.
ARCHITECTURE_RANGES = {
    "c1_kernel": (1, 9),
    "c1_channels": (1, 64),
    "c1_padding": (0, 6),
    "c3_kernel": (1, 9),
    "c3_channels": (1, 128),
    "c3_padding": (0, 6),
    "pool": (1, 4),
}


@dataclass(frozen=True)
class LeNetArchitecture:
    """The knobs of the architecture page; the defaults are the lecture's LeNet-5."""

    c1_kernel: int = 5
    c1_channels: int = 6
    c1_padding: int = 0
    c3_kernel: int = 5
    c3_channels: int = 16
    c3_padding: int = 0
    pool: int = 2  # S2 and S4: window = stride
    input_size: int = 32  # MNIST's 28x28 padded by 2
    activation: str = "relu"  # after C1, C3, C5 and F6
    pooling: str = "max"  # S2 and S4

    def check(self) -> LeNetArchitecture:
        """ValueError naming the knob or the layer that makes this network impossible."""
        for name, (low, high) in ARCHITECTURE_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"{name} must be a whole number from {low} to {high}, got {value!r}"
                )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be max or avg, got {self.pooling!r}")
        lenet_layer_table(self)
        return self


LECTURE_ARCHITECTURE = LeNetArchitecture()
# LeCun et al. (1998) squashed with a scaled tanh and subsampled by averaging. What this preset
# still leaves out of the paper: S2/S4's trainable coefficient and bias per map, C3's partial
# connection table (each C3 map sees only some S2 maps), and the RBF output layer.
PAPER_1998_ARCHITECTURE = LeNetArchitecture(activation="tanh", pooling="avg")
PAPER_1998_OMISSIONS = (
    N_("trainable subsampling (a coefficient and a bias per map in S2 and S4)"),
    N_("C3's partial connection table (each C3 map sees only some of S2's maps)"),
    N_("the RBF output layer (here a fully connected layer and softmax)"),
)


class LeNet5(nn.Module):
    def __init__(self, architecture: LeNetArchitecture = LECTURE_ARCHITECTURE) -> None:
        super().__init__()
        a = architecture
        table = lenet_layer_table(a)  # raises ValueError for an impossible architecture
        s4_channels = table[3].output_shape[0]
        self.architecture = a
        self.input_padding = (a.input_size - 28) // 2
        pooling = POOLINGS[a.pooling]
        self.C1 = nn.Conv2d(1, a.c1_channels, kernel_size=a.c1_kernel, padding=a.c1_padding)
        self.S2 = pooling(kernel_size=a.pool, stride=a.pool)
        self.C3 = nn.Conv2d(
            a.c1_channels, a.c3_channels, kernel_size=a.c3_kernel, padding=a.c3_padding
        )
        self.S4 = pooling(kernel_size=a.pool, stride=a.pool)
        self.C5 = FullyConnectedConv2d(s4_channels, 120, kernel_size=5)  # fully connected
        c5_size = table[4].output_shape[1]  # 1 for the lecture's sizes
        self.F6 = nn.Linear(120 * c5_size * c5_size, 84)
        self.out = nn.Linear(84, 10)
        # One stateless module for every layer: no parameters, so the state dict (and every
        # checkpoint) is the same whatever the activation.
        self.activation = ACTIVATIONS[a.activation]()
        # ReLU and max pooling commute: max(relu(a), relu(b)) = relu(max(a, b)), and the
        # gradient reaches the same input (the first maximum) or, where the window's maximum
        # is <= 0, none in either order. Pooling first applies ReLU to a quarter of the values,
        # with the same numbers: 1.10x (2 threads, batch 64) and 1.045x (1 thread, batch 32)
        # training steps/s on the 2-core machine, measured interleaved in one process.
        self.pool_first = a.activation == "relu" and a.pooling == "max"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for MNIST images [N, 1, 28, 28] (padded here to 32x32)."""
        act = self.activation
        x = F.pad(x, (self.input_padding,) * 4)
        if self.pool_first:
            x = act(self.S2(self.C1(x)))
            x = act(self.S4(self.C3(x)))
        else:
            x = self.S2(act(self.C1(x)))
            x = self.S4(act(self.C3(x)))
        x = act(self.C5(x)).flatten(1)
        x = act(self.F6(x))
        return self.out(x)


@dataclass(frozen=True)
class LayerRow:
    name: str
    operation: str
    output_shape: tuple[int, ...]
    parameters: int
    macs: int
    receptive_field: int  # input pixels (of the 32x32 input) seen along one axis


def lenet_layer_table(architecture: LeNetArchitecture = LECTURE_ARCHITECTURE) -> list[LayerRow]:
    """The layer table of LESSON.md section 7, every number computed by core.arithmetic.

    For an impossible architecture, ValueError names the layer: "C5: dilated kernel spans ...".
    """
    a = architecture
    act_name = ACTIVATION_NAMES.get(a.activation, a.activation)
    rows: list[LayerRow] = []
    size, channels = a.input_size, 1
    geometry: list[tuple[int, int, int]] = []  # (kernel, stride, dilation) so far

    def conv(name: str, out_channels: int, kernel: int = 5, padding: int = 0) -> None:
        nonlocal size, channels
        try:
            size = conv_output_size(size, kernel, padding)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        geometry.append((kernel, 1, 1))
        rows.append(
            LayerRow(
                name,
                (
                    _("conv {window}, padding {padding}, {channels} channels, + {act}")
                    if padding
                    else _("conv {window}, {channels} channels, + {act}")
                ).format(
                    window=ltr(f"{kernel}x{kernel}"),
                    padding=padding,
                    channels=out_channels,
                    act=act_name,
                ),
                (out_channels, size, size),
                conv_param_count(channels, out_channels, (kernel, kernel)),
                conv_macs(channels, out_channels, (kernel, kernel), (size, size)),
                receptive_field(geometry)[-1].size,
            )
        )
        channels = out_channels

    def pool(name: str, kernel: int = 2) -> None:
        nonlocal size
        try:
            size = pool_output_size(size, kernel)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        geometry.append((kernel, kernel, 1))
        rows.append(
            LayerRow(
                name,
                _("{pool} {window}, stride {kernel}").format(
                    pool=_(POOLING_NAMES.get(a.pooling, a.pooling)),
                    window=ltr(f"{kernel}x{kernel}"),
                    kernel=kernel,
                ),
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
                (
                    _("fully connected, {features}, + {act}")
                    if relu
                    else _("fully connected, {features}")
                ).format(features=out_features, act=act_name),
                (out_features,),
                fc_param_count(in_features, out_features),
                fc_macs(in_features, out_features),
                rows[-1].receptive_field,
            )
        )

    conv("C1", a.c1_channels, a.c1_kernel, a.c1_padding)
    pool("S2", a.pool)
    conv("C3", a.c3_channels, a.c3_kernel, a.c3_padding)
    pool("S4", a.pool)
    conv("C5", 120)
    fc("F6", 120 * size * size, 84, relu=True)
    fc(N_("out"), 84, 10, relu=False)
    return rows


def fully_connected_equivalent(table: list[LayerRow]) -> list[int]:
    """Parameters of each layer if it were fully connected with the same input and output
    sizes (pooling stays parameter-free)."""
    counts, features = [], 28 * 28
    for row in table:
        out_features = math.prod(row.output_shape)
        counts.append(0 if row.parameters == 0 else fc_param_count(features, out_features))
        features = out_features
    return counts


FEATURE_LAYERS = ("C1", "S2", "C3", "S4")


@torch.inference_mode()
def feature_maps(model: LeNet5, image: torch.Tensor) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Activations after C1 (with its activation), S2, C3 (with its activation) and S4 for one image
    [1, 28, 28], and the probabilities of the ten digits."""
    model.eval()
    act = model.activation
    x = F.pad(image[None].float(), (model.input_padding,) * 4)
    maps = {}
    x = act(model.C1(x))
    maps["C1"] = x[0].numpy()
    x = model.S2(x)
    maps["S2"] = x[0].numpy()
    x = act(model.C3(x))
    maps["C3"] = x[0].numpy()
    x = model.S4(x)
    maps["S4"] = x[0].numpy()
    x = act(model.C5(x)).flatten(1)
    logits = model.out(act(model.F6(x)))
    return maps, logits.softmax(dim=1)[0].numpy()


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
