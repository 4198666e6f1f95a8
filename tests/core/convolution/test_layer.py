"""The explorer's layer without a page: settings -> effective sizes -> result and numbers,
checked against torch.nn (shapes, values, parameter counts)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.convolution.layer import LayerSetting, compute_layer, kernel_preset, layer_numbers

DEFAULTS = dict(
    mode="2D", op="convolution", h=5, w=5, kh=3, kw=3, ph=0, pw=0, sh=1, sw=1, dh=1, dw=1,
    oph=0, opw=0, cin=1, cout=1, groups=1, flip=False, relu=False, bias=False,
)  # fmt: skip


def setting(**changes) -> LayerSetting:
    return LayerSetting.from_values({**DEFAULTS, **changes})


def test_kernel_presets() -> None:
    rng = np.random.default_rng(0)
    assert kernel_preset("Sobel x", 3, 3, rng).tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert kernel_preset("identity", 1, 5, rng).tolist() == [[0, 0, 1, 0, 0]]
    assert kernel_preset("box blur", 2, 2, rng).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="3x3"):
        kernel_preset("sharpen", 5, 5, rng)


def test_one_d_is_height_one_and_pooling_keeps_the_channels() -> None:
    s = setting(mode="1D", h=9, kh=5, ph=2, sh=3, dh=2, oph=1, w=12, kw=4)
    assert (s.height, s.kernel, s.padding, s.stride, s.dilation) == (
        1,
        (1, 4),
        (0, 0),
        (1, 1),
        (1, 1),
    )
    assert s.output_padding == (0, 0)
    pool = setting(op="average pooling", cin=3, cout=7, groups=3, dh=2, dw=2, relu=True)
    assert (pool.c_out, pool.groups, pool.dilation, pool.relu) == (3, 1, (1, 1), False)
    assert not setting(op="max pooling", flip=True).flip  # only a convolution flips


@pytest.mark.parametrize(
    "changes",
    [
        dict(),
        dict(cin=4, cout=6, groups=2, bias=True, ph=1, pw=2, sh=2, dw=2, w=9),
        dict(op="transposed convolution", cin=2, cout=4, groups=2, sh=2, sw=2, oph=1, ph=1),
        dict(mode="1D", w=11, kw=3, sw=2, cin=2, cout=3, bias=True),
    ],
)
def test_the_layer_equals_torch(changes: dict) -> None:
    s = setting(**changes)
    rng = np.random.default_rng(3)
    x = rng.integers(0, 10, size=(s.c_in, s.height, s.width)).astype(float)
    layer = compute_layer(s, x, "random integers", rng)
    args = dict(stride=s.stride, padding=s.padding, dilation=s.dilation, groups=s.groups)
    tx, tw = torch.tensor(x)[None], torch.tensor(layer.weight)
    tb = None if layer.bias is None else torch.tensor(layer.bias)
    if s.transposed:
        expected = torch.nn.functional.conv_transpose2d(
            tx, tw, tb, output_padding=s.output_padding, **args
        )
        module = torch.nn.ConvTranspose2d(s.c_in, s.c_out, s.kernel, bias=s.bias, groups=s.groups)
    else:
        expected = torch.nn.functional.conv2d(tx, tw, tb, **args)
        module = torch.nn.Conv2d(s.c_in, s.c_out, s.kernel, bias=s.bias, groups=s.groups)
    np.testing.assert_allclose(layer.output, expected[0].numpy(), atol=1e-9)
    numbers = layer_numbers(s, layer)
    assert numbers.out_size == tuple(expected.shape[2:])
    assert numbers.parameters == sum(p.numel() for p in module.parameters())
    assert (numbers.stretched is not None) == s.transposed


def test_pooling_numbers_and_a_bad_group_count() -> None:
    s = setting(op="max pooling", cin=2, kh=2, kw=2, sh=2, sw=2, h=4, w=4)
    x = np.arange(32.0).reshape(2, 4, 4)
    layer = compute_layer(s, x, "random integers", np.random.default_rng(0))
    expected = torch.nn.functional.max_pool2d(torch.tensor(x)[None], 2, 2)[0].numpy()
    np.testing.assert_array_equal(layer.output, expected)
    numbers = layer_numbers(s, layer)
    assert (numbers.parameters, numbers.macs, numbers.operations) == (None, None, 2 * 2 * 2 * 4)
    with pytest.raises(ValueError, match="groups \\(2\\) must divide"):
        compute_layer(setting(cin=3, cout=2, groups=2), np.ones((3, 5, 5)), "identity", None)
