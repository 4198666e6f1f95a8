"""Causal 1D convolution and dilated causal stacks against torch: values equal Conv1d on the
left-padded input; the receptive field grows to 1 + (k - 1)·Σd, and the dependency cone of an
output cell is exactly the set of inputs whose change moves it (checked by autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.convolution.arithmetic import causal_padding
from core.convolution.causal import causal_conv1d, causal_stack

# Floats from conv/linear kernels: run again under a capped instruction set (tests/isa.py).
pytestmark = pytest.mark.numerics

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    length=st.integers(1, 12),
    kernel=st.integers(1, 4),
    dilation=st.integers(1, 4),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_causal_conv1d_matches_torch(length, kernel, dilation, c_in, c_out, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c_in, length))
    weight = rng.standard_normal((c_out, c_in, kernel))
    bias = rng.standard_normal(c_out)
    left = causal_padding(kernel, dilation)
    expected = F.conv1d(
        F.pad(torch.from_numpy(x)[None], (left, 0)),
        torch.from_numpy(weight),
        torch.from_numpy(bias),
        dilation=dilation,
    )[0].numpy()
    result = causal_conv1d(x, weight, bias, dilation)
    assert result.shape == (c_out, length)
    np.testing.assert_allclose(result, expected, atol=1e-9)


@SETTINGS
@given(
    length=st.integers(1, 20),
    kernel=st.integers(2, 3),
    layers=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    where=st.floats(0, 1),
)
def test_stack_dependencies_are_what_autograd_finds(length, kernel, layers, seed, where) -> None:
    rng = np.random.default_rng(seed)
    dilations = [2**n for n in range(layers)]
    # Positive weights: no cancellation can hide a dependency from the gradient.
    weights = [rng.uniform(0.5, 1.5, kernel) for _ in dilations]
    x = rng.standard_normal(length)
    stack = causal_stack(x, weights, dilations)
    assert stack.receptive_fields == [
        1 + (kernel - 1) * sum(dilations[: n + 1]) for n in range(layers)
    ]
    tensor = torch.tensor(x, requires_grad=True)
    out = tensor[None, None]
    for w, d in zip(weights, dilations, strict=True):
        out = F.conv1d(F.pad(out, ((kernel - 1) * d, 0)), torch.tensor(w)[None, None], dilation=d)
    np.testing.assert_allclose(stack.values[-1], out[0, 0].detach().numpy(), atol=1e-9)
    position = min(int(where * length), length - 1)
    out[0, 0, position].backward()
    depends = set(np.nonzero(tensor.grad.numpy())[0].tolist())
    cone = stack.dependencies(position)
    assert {t for t, real in cone[0] if real} == depends
    assert len(cone) == layers + 1 and cone[-1] == [(position, True)]
    # Far enough from the start, the input-level cone spans exactly the receptive field.
    if position >= stack.receptive_fields[-1] - 1:
        assert cone[0][-1][0] - cone[0][0][0] + 1 == stack.receptive_fields[-1]
        assert all(real for _, real in cone[0])
