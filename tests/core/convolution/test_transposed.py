"""core.transposed and core.arithmetic's transposed-convolution rules against torch itself, over
a few thousand random configurations (hypothesis): the same shape, values and parameter count
where torch accepts, a ValueError where torch raises."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from core.convolution.arithmetic import (
    conv_param_count,
    conv_transpose_macs,
    conv_transpose_output_size,
)
from core.convolution.transposed import conv_transpose2d

# Floats from conv/linear kernels: run again under a capped instruction set (tests/isa.py).
pytestmark = pytest.mark.numerics

SETTINGS = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])

axis = st.fixed_dictionaries(
    {
        "size": st.integers(1, 6),
        "kernel": st.integers(1, 4),
        "padding": st.integers(0, 4),
        "stride": st.integers(1, 3),
        "dilation": st.integers(1, 3),
        "output_padding": st.integers(0, 3),
    }
)


@SETTINGS
@given(
    h=axis,
    w=axis,
    groups=st.integers(1, 3),
    per_in=st.integers(1, 2),
    per_out=st.integers(1, 2),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv_transpose2d_matches_torch(h, w, groups, per_in, per_out, bias, seed) -> None:
    rng = np.random.default_rng(seed)
    c_in, c_out = groups * per_in, groups * per_out
    x = rng.integers(-4, 5, size=(c_in, h["size"], w["size"])).astype(np.float64)
    weight = rng.integers(-3, 4, size=(c_in, per_out, h["kernel"], w["kernel"])).astype(float)
    b = rng.integers(-2, 3, size=c_out).astype(np.float64) if bias else None
    args = {key: (h[key], w[key]) for key in ("stride", "padding", "output_padding", "dilation")}
    try:
        expected = F.conv_transpose2d(
            torch.from_numpy(x)[None],
            torch.from_numpy(weight),
            None if b is None else torch.from_numpy(b),
            groups=groups,
            **args,
        )[0].numpy()
    except RuntimeError:
        expected = None
    try:
        result = conv_transpose2d(x, weight, b, groups=groups, **args)
    except ValueError:
        result = None
    assert (expected is None) == (result is None), (h, w)
    for a, key in ((0, "h"), (1, "w")):
        cfg = h if key == "h" else w
        try:
            size = conv_transpose_output_size(
                cfg["size"],
                cfg["kernel"],
                cfg["padding"],
                cfg["stride"],
                cfg["dilation"],
                cfg["output_padding"],
            )
        except ValueError:
            size = None
        if expected is not None:
            assert size == expected.shape[1 + a]
    if result is None:
        return
    assert result.output.shape == expected.shape
    np.testing.assert_allclose(result.output, expected, atol=1e-9)
    layer = torch.nn.ConvTranspose2d(
        c_in, c_out, (h["kernel"], w["kernel"]), groups=groups, bias=bias, **args
    )
    kernel = (h["kernel"], w["kernel"])
    assert conv_param_count(c_in, c_out, kernel, bias=bias, groups=groups) == sum(
        p.numel() for p in layer.parameters()
    )
    # The stretched input holds every input value once, at stride steps (or cropped away).
    real = result.real
    for r, c in zip(*np.nonzero(real), strict=True):
        i, j = result.source[r, c]
        assert result.stretched[0, r, c] == x[0, i, j]
    assert np.all(result.stretched[:, ~real] == 0)


@pytest.mark.parametrize(
    "c_in,c_out,kernel,size,stride,groups",
    [(1, 1, (3, 3), (4, 4), 2, 1), (4, 6, (3, 2), (5, 3), 2, 2), (3, 3, (2, 2), (2, 5), 3, 3)],
)
def test_conv_transpose_macs_match_torch_flop_counter(c_in, c_out, kernel, size, stride, groups):
    layer = torch.nn.ConvTranspose2d(c_in, c_out, kernel, stride=stride, groups=groups)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, c_in, *size))
    assert 2 * conv_transpose_macs(c_in, c_out, kernel, size, groups) == counter.get_total_flops()


def test_transposed_errors_say_what_torch_says() -> None:
    # Input 4, padding 1, kernel 3, stride 2 (the drill's example) run backwards: 7, not 4.
    assert conv_transpose_output_size(2, 3, 1, 2) == 3
    assert conv_transpose_output_size(2, 3, 1, 2, output_padding=1) == 4
    with pytest.raises(ValueError, match="output padding must be smaller than either stride"):
        conv_transpose_output_size(4, 3, stride=1, output_padding=1)
    assert conv_transpose_output_size(4, 3, stride=1, dilation=2, output_padding=1) == 9
    with pytest.raises(ValueError, match="output size is too small"):
        conv_transpose_output_size(2, 3, padding=5, stride=2)
    with pytest.raises(ValueError, match="output_padding must be at least 0"):
        conv_transpose_output_size(2, 3, output_padding=-1)
