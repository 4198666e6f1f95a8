"""Causal 1D convolution and stacks of dilated causal layers (as in WaveNet and TCNs).

A causal convolution pads on the left only, d(k - 1) zeros, so output t reads inputs t and
earlier, never the future, and the output is as long as the input. Stacking layers with
dilations 1, 2, 4, ... doubles the receptive field each layer while the weights grow only
linearly. Values equal torch's Conv1d on the left-padded input
(tests/core/convolution/test_causal.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.convolution.arithmetic import causal_padding, receptive_field
from core.convolution.reference import as_2d, conv2d


def causal_conv1d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, dilation: int = 1
) -> np.ndarray:
    """x [C_in, L] with weight [C_out, C_in, k]: [C_out, L], padded d(k - 1) on the left only."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    left = causal_padding(weight.shape[-1], dilation)
    padded = np.pad(x, ((0, 0), (left, 0)))
    return conv2d(as_2d(padded), weight[:, :, None, :], bias, 0, 1, (1, dilation)).output[:, 0]


@dataclass(frozen=True)
class CausalStack:
    kernel: int
    dilations: tuple[int, ...]
    values: list[np.ndarray]  # [L] per level: the input, then each layer's output

    @property
    def receptive_fields(self) -> list[int]:
        """Input cells one output cell depends on after each layer: 1 + (k - 1)·Σd."""
        return [f.size for f in receptive_field([(self.kernel, 1, d) for d in self.dilations])]

    def dependencies(self, position: int) -> list[list[tuple[int, bool]]]:
        """For top-layer output `position`: per level (input first), the cells it depends on,
        each (position, True) or (position < 0 as a padding zero, False)."""
        levels = [{position}]
        for d in reversed(self.dilations):
            below = {t - m * d for t in levels[0] if t >= 0 for m in range(self.kernel)}
            levels.insert(0, below)
        return [sorted((t, t >= 0) for t in level) for level in levels]


def causal_stack(
    x: np.ndarray, weights: list[np.ndarray], dilations: list[int] | tuple[int, ...]
) -> CausalStack:
    """A 1-channel signal x [L] through causal layers (weights [k] each, no bias)."""
    if len(weights) != len(dilations) or not weights:
        raise ValueError("give one kernel per dilation, at least one layer")
    kernel = len(weights[0])
    values = [np.asarray(x, dtype=np.float64)]
    for w, d in zip(weights, dilations, strict=True):
        values.append(causal_conv1d(values[-1][None], np.asarray(w)[None, None], None, d)[0])
    return CausalStack(kernel, tuple(dilations), values)
