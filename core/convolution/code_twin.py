"""The code twin: the PyTorch program that does what the explorer shows, and torch's own result.

`python_source(spec)` writes a standalone script from a string template (the layer with the
page's exact arguments, the page's input, kernels and biases, the line that reads the selected
cell); nothing here ever executes text. `torch_output(spec)` builds the same torch module
directly from the configuration and runs it, and `agreement` compares that with the page's own
numpy reference (core.conv, core.transposed): shape, largest difference, the selected cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.convolution.reference import Pair
from core.i18n import N_, _

OPERATIONS = ("conv", "transposed", "max", "avg")
TOLERANCE = 1e-5


@dataclass(frozen=True)
class LayerSpec:
    """One explorer configuration. Arrays are 2D-shaped (a 1D signal has height 1, its kernel
    height 1), as the explorer keeps them; `dims` says which torch layer to write."""

    op: str  # conv, transposed, max, avg
    dims: int  # 1 or 2
    x: np.ndarray  # [C_in, H, W]
    kernel: Pair
    padding: Pair = (0, 0)
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    weight: np.ndarray | None = None  # conv [C_out, C_in/g, kh, kw]; transposed [C_in, C_out/g, ..]
    bias: np.ndarray | None = None  # [C_out]
    groups: int = 1
    output_padding: Pair = (0, 0)
    flip: bool = False  # true convolution: the page flips the kernel before correlating
    relu: bool = False
    cell: tuple[int, int, int] = (0, 0, 0)  # the selected output (channel, row, col)

    def __post_init__(self) -> None:
        if self.op not in OPERATIONS:
            raise ValueError(f"op must be one of {', '.join(OPERATIONS)}, got {self.op!r}")
        if self.dims not in (1, 2):
            raise ValueError(f"dims must be 1 or 2, got {self.dims!r}")
        if self.op in ("conv", "transposed") and self.weight is None:
            raise ValueError("a convolution needs its weight")

    @property
    def in_channels(self) -> int:
        return self.x.shape[0]

    @property
    def out_channels(self) -> int:
        if self.op == "conv":
            return self.weight.shape[0]
        if self.op == "transposed":
            return self.weight.shape[1] * self.groups
        return self.in_channels

    def axes(self, value: Pair) -> int | Pair:
        """A per-axis setting as the torch layer takes it: the width's value alone in 1D."""
        return value[1] if self.dims == 1 else tuple(value)

    @property
    def cell_index(self) -> tuple[int, ...]:
        """Index of the selected cell in torch's batched output."""
        o, i, j = self.cell
        return (0, o, j) if self.dims == 1 else (0, o, i, j)

    @property
    def layer_name(self) -> str:
        base = {"conv": "Conv", "transposed": "ConvTranspose", "max": "MaxPool", "avg": "AvgPool"}
        return f"{base[self.op]}{self.dims}d"

    def layer_arguments(self) -> dict[str, object]:
        """The layer's keyword arguments, in the order the generated code writes them."""
        if self.op in ("max", "avg"):
            arguments: dict[str, object] = dict(
                kernel_size=self.axes(self.kernel),
                stride=self.axes(self.stride),
                padding=self.axes(self.padding),
            )
            if self.op == "max":
                arguments["dilation"] = self.axes(self.dilation)
            return arguments
        arguments = dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel_size=self.axes(self.kernel),
            stride=self.axes(self.stride),
            padding=self.axes(self.padding),
        )
        if self.op == "transposed":
            arguments["output_padding"] = self.axes(self.output_padding)
        arguments.update(
            dilation=self.axes(self.dilation), groups=self.groups, bias=self.bias is not None
        )
        return arguments

    def torch_input(self) -> np.ndarray:
        """The input as torch takes it: [1, C, L] or [1, C, H, W]."""
        return (self.x[:, 0, :] if self.dims == 1 else self.x)[None]

    def torch_weight(self) -> np.ndarray | None:
        """The weight as torch's layer holds it (1D: the kernel height dropped)."""
        if self.weight is None:
            return None
        return self.weight[:, :, 0, :] if self.dims == 1 else self.weight


def _number(value: float) -> str:
    value = float(value) + 0.0  # no "-0.0"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


CHANNEL = (N_("channel"),)  # the input's blocks, as the generated code's comments name them


def tensor_literal(array: np.ndarray, names: tuple[str, ...] = (), indent: int = 4) -> str:
    """A nested list of the array's numbers: the innermost rows one line each, every block of
    the outer axes under a comment that names it (`names`, outermost first)."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array) + "]"
    pad = " " * indent
    parts = []
    for index, part in enumerate(array):
        if names and array.ndim > 2:
            parts.append(f"{pad}# {_(names[0])} {index}")
        parts.append(f"{pad}{tensor_literal(part, names[1:], indent + 4)},")
    return "[\n" + "\n".join(parts) + "\n" + " " * (indent - 4) + "]"


def _python(value: object) -> str:
    return repr(tuple(value)) if isinstance(value, (tuple, list)) else repr(value)


def describe(spec: LayerSpec) -> str:
    """One line: what the layer is."""
    words = {
        "conv": N_("convolution"),
        "transposed": N_("transposed convolution"),
        "max": N_("max pooling"),
        "avg": N_("average pooling"),
    }
    extras = []
    if spec.flip:
        extras.append(_("true convolution (kernel flipped)"))
    if spec.relu:
        extras.append("ReLU")
    return f"{spec.dims}D {_(words[spec.op])}" + (f", {', '.join(extras)}" if extras else "")


def printout(shape: tuple[int, ...], index: tuple[int, ...], value: float) -> str:
    """What the generated script prints: the output's shape and the selected cell."""
    return f"shape: {tuple(shape)}\ny[{', '.join(map(str, index))}] = {float(value) + 0.0:.6g}"


def python_source(spec: LayerSpec) -> str:
    """A standalone script (`python file.py`) that builds the page's layer, runs it on the
    page's input and prints the output's shape and the selected cell."""
    arguments = ",\n    ".join(f"{k}={_python(v)}" for k, v in spec.layer_arguments().items())
    layout = "[batch, channels, length]" if spec.dims == 1 else "[batch, channels, height, width]"
    shape = "[channels, length]" if spec.dims == 1 else "[channels, height, width]"
    single = spec.x[:, 0, :] if spec.dims == 1 else spec.x
    lines = [
        '"""' + _("PyTorch twin of the convolution explorer."),
        "",
        _("The layer: {layer}.").format(layer=describe(spec)),
        "",
        *_(
            "Run: python <this file> (needs torch). It prints the output's\n"
            "shape and the output cell selected in the explorer."
        ).splitlines(),
        '"""',
        "",
        "import torch",
        "from torch import nn",
        "",
        *_(
            "# The explorer's input, {shape}, float64 as\n"
            "# the explorer computes; [None] makes a batch of one."
        )
        .format(shape=shape)
        .splitlines(),
        f"x = torch.tensor({tensor_literal(single, CHANNEL)}, dtype=torch.float64)[None]",
        "",
        f"layer = nn.{spec.layer_name}(",
        f"    {arguments},",
    ]
    if spec.op in ("conv", "transposed"):
        lines.append("    dtype=torch.float64,")
    lines.append(")")
    if spec.op in ("conv", "transposed"):
        if spec.op == "transposed":
            layout = "[in, out / groups, *kernel]"
            names = (
                N_("input channel"),
                N_("output channel of its group") if spec.groups > 1 else N_("output channel"),
            )
        else:
            layout = "[out, in / groups, *kernel]"
            names = (
                N_("output channel"),
                N_("input channel of its group") if spec.groups > 1 else N_("input channel"),
            )
        lines += [
            "",
            *_("# The explorer's kernels, {layout},\n# instead of torch's random initial weights.")
            .format(layout=layout)
            .splitlines(),
            f"kernels = torch.tensor({tensor_literal(spec.torch_weight(), names)},"
            " dtype=torch.float64)",
        ]
        if spec.bias is not None:
            lines.append(f"biases = torch.tensor({tensor_literal(spec.bias)}, dtype=torch.float64)")
        lines.append("with torch.no_grad():")
        if spec.flip:
            dims = "(-1,)" if spec.dims == 1 else "(-2, -1)"
            lines += [
                *(
                    "    " + line
                    for line in _(
                        "# PyTorch's convolution is cross-correlation: a true\n"
                        "# convolution flips the kernel first."
                    ).splitlines()
                ),
                f"    layer.weight.copy_(torch.flip(kernels, dims={dims}))",
            ]
        else:
            lines.append("    layer.weight.copy_(kernels)")
        if spec.bias is not None:
            lines.append("    layer.bias.copy_(biases)")
    lines += ["", "with torch.no_grad():", "    y = layer(x)"]
    if spec.relu:
        lines.append("    y = torch.relu(y)")
    index = ", ".join(map(str, spec.cell_index))
    lines += [
        "",
        'print("shape:", tuple(y.shape))',
        _("# + 0.0: a negative zero prints as 0, as in the explorer"),
        f'print("y[{index}] =", f"{{y[{index}].item() + 0.0:.6g}}")',
        "",
    ]
    return "\n".join(lines)


def build_layer(spec: LayerSpec) -> nn.Module:
    """The torch module of the configuration, its weights the page's: built directly, the way
    the generated script builds it, never by running that script."""
    layer_type = getattr(nn, spec.layer_name)
    arguments = spec.layer_arguments()
    if spec.op in ("max", "avg"):
        return layer_type(**arguments)
    layer = layer_type(**arguments, dtype=torch.float64)
    weight = torch.from_numpy(np.ascontiguousarray(spec.torch_weight()))
    if spec.flip:
        weight = torch.flip(weight, dims=(-1,) if spec.dims == 1 else (-2, -1))
    with torch.no_grad():
        layer.weight.copy_(weight)
        if spec.bias is not None:
            layer.bias.copy_(torch.from_numpy(np.asarray(spec.bias, dtype=np.float64)))
    return layer


def torch_output(spec: LayerSpec) -> np.ndarray:
    """torch's batched output for the configuration: [1, C, L] or [1, C, H, W]."""
    layer = build_layer(spec)
    with torch.no_grad():
        y = layer(torch.from_numpy(np.ascontiguousarray(spec.torch_input())))
        if spec.relu:
            y = torch.relu(y)
    return y.numpy()


@dataclass(frozen=True)
class Agreement:
    torch_shape: tuple[int, ...]
    page_shape: tuple[int, ...]
    max_difference: float  # nan when the shapes differ
    torch_cell: float | None
    page_cell: float | None

    @property
    def shape_equal(self) -> bool:
        return self.torch_shape == self.page_shape

    @property
    def values_close(self) -> bool:
        return self.shape_equal and self.max_difference <= TOLERANCE

    @property
    def cell_equal(self) -> bool:
        return (
            self.torch_cell is not None
            and self.page_cell is not None
            and (
                self.torch_cell == self.page_cell
                or math.isclose(self.torch_cell, self.page_cell, rel_tol=1e-12, abs_tol=1e-9)
            )
        )

    @property
    def ok(self) -> bool:
        return self.shape_equal and self.values_close and self.cell_equal


def agreement(spec: LayerSpec, page_output: np.ndarray) -> Agreement:
    """torch's result next to the page's own: `page_output` is [C, H, W] (1D: H = 1)."""
    expected = torch_output(spec)
    page = np.asarray(page_output, dtype=np.float64)
    page = page[:, 0, :][None] if spec.dims == 1 else page[None]
    same = expected.shape == page.shape
    # Equal infinities (a max-pooling window of padding only gives -inf) differ by nothing.
    with np.errstate(invalid="ignore"):
        gaps = np.where(expected == page, 0.0, np.abs(expected - page)) if same else None
    difference = float(np.nan_to_num(gaps, nan=np.inf).max()) if same else math.nan

    def cell(array: np.ndarray) -> float | None:
        try:
            return float(array[spec.cell_index])
        except IndexError:
            return None

    return Agreement(
        tuple(expected.shape), tuple(page.shape), difference, cell(expected), cell(page)
    )
