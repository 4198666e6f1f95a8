"""core.conv and core.arithmetic against torch over many random configurations (hypothesis):
the same shapes, parameter counts and values where torch accepts, a ValueError where it rejects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.convolution.arithmetic import conv_param_count, padding_preset
from core.convolution.reference import as_2d, conv2d, pool2d

# Floats from conv/linear kernels: run again under a capped instruction set (tests/isa.py).
pytestmark = pytest.mark.numerics

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

axis = st.fixed_dictionaries(
    {
        "size": st.integers(1, 9),
        "kernel": st.integers(1, 5),
        "padding": st.integers(0, 4),
        "stride": st.integers(1, 4),
        "dilation": st.integers(1, 3),
    }
)


def torch_or_none(function):
    try:
        return function()
    except RuntimeError:
        return None


def ours_or_none(function):
    try:
        return function()
    except ValueError:
        return None


@SETTINGS
@given(
    h=axis,
    w=axis,
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    bias=st.booleans(),
    flip=st.booleans(),
    relu=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_matches_torch(h, w, c_in, c_out, bias, flip, relu, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-5, 6, size=(c_in, h["size"], w["size"])).astype(np.float64)
    weight = rng.integers(-3, 4, size=(c_out, c_in, h["kernel"], w["kernel"])).astype(np.float64)
    b = rng.integers(-2, 3, size=c_out).astype(np.float64) if bias else None
    padding = (h["padding"], w["padding"])
    stride = (h["stride"], w["stride"])
    dilation = (h["dilation"], w["dilation"])
    layer = torch.nn.Conv2d(
        c_in, c_out, (h["kernel"], w["kernel"]), stride, padding, dilation, bias=bias
    )
    applied = weight[:, :, ::-1, ::-1] if flip else weight
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(applied.copy()))
        if bias:
            layer.bias.copy_(torch.from_numpy(b))

    def run_torch():
        with torch.no_grad():
            out = layer.double()(torch.from_numpy(x)[None])[0]
        return F.relu(out) if relu else out

    expected = torch_or_none(run_torch)
    result = ours_or_none(lambda: conv2d(x, weight, b, padding, stride, dilation, flip, relu))
    assert (expected is None) == (result is None), (h, w)
    if result is not None:
        assert result.output.shape == tuple(expected.shape)
        np.testing.assert_allclose(result.output, expected.numpy(), atol=1e-9)
        assert conv_param_count(c_in, c_out, (h["kernel"], w["kernel"]), bias=bias) == sum(
            p.numel() for p in layer.parameters()
        )
        # Each output is the written-out sum of its terms (+ bias): what the page shows.
        o, i, j = c_out - 1, result.output.shape[1] - 1, result.output.shape[2] - 1
        total = sum(v * wt for *_, v, wt in result.terms(o, i, j)) + result.bias[o]
        assert total == pytest.approx(result.pre_activation[o, i, j])


@SETTINGS
@given(a=axis, c_in=st.integers(1, 3), c_out=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_conv1d_matches_torch(a, c_in, c_out, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c_in, a["size"]))
    weight = rng.standard_normal((c_out, c_in, a["kernel"]))
    layer = torch.nn.Conv1d(c_in, c_out, a["kernel"], a["stride"], a["padding"], a["dilation"])
    b = layer.bias.detach().double().numpy()

    def run_torch():
        with torch.no_grad():
            return F.conv1d(
                torch.from_numpy(x)[None],
                torch.from_numpy(weight),
                torch.from_numpy(b),
                a["stride"],
                a["padding"],
                a["dilation"],
            )[0]

    expected = torch_or_none(run_torch)
    result = ours_or_none(
        lambda: conv2d(
            as_2d(x),
            weight[:, :, None, :],
            b,
            (0, a["padding"]),
            (1, a["stride"]),
            (1, a["dilation"]),
        )
    )
    assert (expected is None) == (result is None), a
    if result is not None:
        np.testing.assert_allclose(result.output[:, 0, :], expected.numpy(), atol=1e-9)


@SETTINGS
@given(
    h=axis,
    w=axis,
    mode=st.sampled_from(["max", "avg"]),
    channels=st.integers(1, 3),
    default_stride=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pool2d_matches_torch(h, w, mode, channels, default_stride, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, h["size"], w["size"]))
    kernel = (h["kernel"], w["kernel"])
    stride = None if default_stride else (h["stride"], w["stride"])
    padding = (h["padding"], w["padding"])
    dilation = (h["dilation"], w["dilation"]) if mode == "max" else (1, 1)
    tensor = torch.from_numpy(x)[None]
    if mode == "max":
        expected = torch_or_none(lambda: F.max_pool2d(tensor, kernel, stride, padding, dilation)[0])
    else:
        expected = torch_or_none(lambda: F.avg_pool2d(tensor, kernel, stride, padding)[0])
    result = ours_or_none(lambda: pool2d(x, kernel, stride, padding, mode, dilation))
    assert (expected is None) == (result is None), (h, w, mode)
    if result is not None:
        np.testing.assert_allclose(result.output, expected.numpy(), atol=1e-9)


def test_padding_presets_give_valid_same_full() -> None:
    for kernel in (1, 3, 5):
        for dilation in (1, 2):
            span = dilation * (kernel - 1) + 1
            assert padding_preset("valid", kernel, dilation) == 0
            same = padding_preset("same", kernel, dilation)
            assert 7 + 2 * same - span + 1 == 7  # output as long as the input (odd spans)
            assert padding_preset("full", kernel, dilation) == span - 1
    with pytest.raises(ValueError, match="padding preset must be one of"):
        padding_preset("half", 3)


def test_unused_rows_and_columns_are_reported() -> None:
    # 6x6, kernel 3, stride 2, no padding: windows start at 0 and 2; row and column 5 unused.
    result = conv2d(np.ones((1, 6, 6)), np.ones((1, 1, 3, 3)), stride=2)
    assert result.geometry.unused() == ([5], [5])
    assert conv2d(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), stride=2).geometry.unused() == ([], [])


@SETTINGS
@given(
    h=axis,
    w=axis,
    groups=st.integers(1, 4),
    per_in=st.integers(1, 2),
    per_out=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_grouped_conv2d_matches_torch(h, w, groups, per_in, per_out, seed) -> None:
    rng = np.random.default_rng(seed)
    c_in, c_out = groups * per_in, groups * per_out
    x = rng.integers(-5, 6, size=(c_in, h["size"], w["size"])).astype(np.float64)
    weight = rng.integers(-3, 4, size=(c_out, per_in, h["kernel"], w["kernel"])).astype(float)
    args = {key: (h[key], w[key]) for key in ("padding", "stride", "dilation")}
    expected = torch_or_none(
        lambda: F.conv2d(
            torch.from_numpy(x)[None], torch.from_numpy(weight), groups=groups, **args
        )[0]
    )
    result = ours_or_none(lambda: conv2d(x, weight, groups=groups, **args))
    assert (expected is None) == (result is None), (h, w)
    if result is None:
        return
    np.testing.assert_allclose(result.output, expected.numpy(), atol=1e-9)
    # Output channel o reads only its group's input channels, and its terms add up to it.
    o = c_out - 1
    assert result.input_channels(o) == list(range(c_in - per_in, c_in))
    i, j = (n - 1 for n in result.output.shape[1:])
    terms = result.terms(o, i, j)
    assert {c for c, *_ in terms} == set(result.input_channels(o))
    assert sum(v * wt for *_, v, wt in terms) == pytest.approx(result.output[o, i, j])


@SETTINGS
@given(h=axis, w=axis, seed=st.integers(0, 2**16))
def test_feeds_is_what_autograd_finds(h, w, seed) -> None:
    """Clicking an input cell lists the output cells it feeds: exactly those whose gradient
    with respect to that cell is non-zero (all-ones kernel: no cancellation)."""
    args = {key: (h[key], w[key]) for key in ("padding", "stride", "dilation")}
    kernel = (h["kernel"], w["kernel"])
    result = ours_or_none(
        lambda: conv2d(np.zeros((1, h["size"], w["size"])), np.ones((1, 1, *kernel)), **args)
    )
    if result is None:
        return
    rng = np.random.default_rng(seed)
    row, col = int(rng.integers(h["size"])), int(rng.integers(w["size"]))
    x = torch.zeros(1, 1, h["size"], w["size"], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(x, torch.ones(1, 1, *kernel, dtype=torch.float64), **args)[0, 0]
    fed = set()
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            (grad,) = torch.autograd.grad(out[i, j], x, retain_graph=True)
            if grad[0, 0, row, col]:
                fed.add((i, j))
    geometry = result.geometry
    feeds = geometry.feeds(row + args["padding"][0], col + args["padding"][1])
    assert {(i, j) for i, j, _, _ in feeds} == fed
    for i, j, m, n in feeds:  # and the tap named is the one that reads the cell
        assert (m, n, row + args["padding"][0], col + args["padding"][1]) in geometry.taps(i, j)
