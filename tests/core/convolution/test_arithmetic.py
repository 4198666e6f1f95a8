"""core.arithmetic against torch: same shapes where torch accepts, rejected where it rejects."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from core.convolution.arithmetic import (
    causal_padding,
    conv_macs,
    conv_output_size,
    conv_param_count,
    conv_versus_fc,
    dilated_kernel_span,
    fc_macs,
    fc_param_count,
    grouped_conv_costs,
    padding_preset,
    pool_output_size,
    receptive_field,
)


def torch_conv_length(size, kernel, padding, stride, dilation) -> int | None:
    layer = nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    try:
        return layer(torch.zeros(1, 1, size)).shape[-1]
    except RuntimeError:
        return None


def ours(function, *args, **kwargs) -> int | None:
    try:
        return function(*args, **kwargs)
    except ValueError:
        return None


@pytest.mark.parametrize("size", [1, 2, 4, 5, 7])
def test_conv_output_size_matches_torch(size: int) -> None:
    for kernel, padding, stride, dilation in itertools.product(
        [1, 2, 3, 4], [0, 1, 2], [1, 2, 3], [1, 2]
    ):
        expected = torch_conv_length(size, kernel, padding, stride, dilation)
        assert ours(conv_output_size, size, kernel, padding, stride, dilation) == expected, (
            size,
            kernel,
            padding,
            stride,
            dilation,
        )


@pytest.mark.parametrize(
    "case",
    [
        # LESSON.md section 6: the eight cases (input, kernel, padding, stride, dilation, output)
        (4, 3, 0, 1, 1, 2),
        (5, 4, 2, 1, 1, 6),
        (5, 3, 1, 1, 1, 5),
        (5, 3, 2, 1, 1, 7),
        (5, 3, 0, 2, 1, 2),
        (5, 3, 1, 2, 1, 3),
        (6, 3, 1, 2, 1, 3),
        (7, 3, 0, 1, 2, 3),
    ],
)
def test_lecture_cases(case) -> None:
    size, kernel, padding, stride, dilation, expected = case
    assert conv_output_size(size, kernel, padding, stride, dilation) == expected


def test_error_message_names_the_numbers() -> None:
    with pytest.raises(ValueError, match="dilated kernel spans 5 cells but the padded input has 4"):
        conv_output_size(4, 3, dilation=2)
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        conv_output_size(4, 3, stride=0)


@pytest.mark.parametrize("size", [1, 2, 5, 6, 9])
def test_pool_output_size_matches_torch(size: int) -> None:
    for kernel, stride, padding, dilation, ceil_mode in itertools.product(
        [1, 2, 3], [None, 1, 2, 3], [0, 1], [1, 2], [False, True]
    ):
        layer = nn.MaxPool1d(
            kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        try:
            expected = layer(torch.zeros(1, 1, size)).shape[-1]
        except RuntimeError:
            expected = None
        got = ours(pool_output_size, size, kernel, stride, padding, dilation, ceil_mode)
        assert got == expected, (size, kernel, stride, padding, dilation, ceil_mode)


@pytest.mark.parametrize(
    "c_in,c_out,kernel,bias,groups",
    [
        (1, 6, 5, True, 1),
        (6, 16, (5, 5), True, 1),
        (16, 120, (5, 5), False, 1),
        (4, 8, (3, 2), True, 2),
        (6, 6, 3, True, 6),
    ],
)
def test_conv_param_count_matches_torch(c_in, c_out, kernel, bias, groups) -> None:
    kernel_2d = (kernel, kernel) if isinstance(kernel, int) else kernel
    layer = nn.Conv2d(c_in, c_out, kernel_2d, bias=bias, groups=groups)
    expected = sum(p.numel() for p in layer.parameters())
    assert conv_param_count(c_in, c_out, kernel_2d, bias=bias, groups=groups) == expected


def test_groups_must_divide_channels() -> None:
    with pytest.raises(ValueError, match=r"in_channels \(6\) must be divisible by groups \(4\)"):
        conv_param_count(6, 8, 3, groups=4)


def test_conv_versus_fc_lenet_c1() -> None:
    layers = conv_versus_fc(32, 32, 1, 6, 5)
    assert layers.out_shape == (6, 28, 28)
    assert layers.conv_params == 156  # LESSON.md section 7, C1
    linear = nn.Linear(1 * 32 * 32, 6 * 28 * 28)
    assert layers.fc_params == sum(p.numel() for p in linear.parameters())
    assert fc_param_count(84, 10) == 850  # LeNet-5's output layer


def test_conv_macs_matches_lenet_c1_and_groups() -> None:
    assert conv_macs(1, 6, (5, 5), (28, 28)) == 6 * 28 * 28 * 25  # LeNet-5's C1
    assert conv_macs(4, 8, 3, 10, groups=2) == 8 * 10 * (4 // 2) * 3
    assert fc_macs(84, 10) == 840


@pytest.mark.parametrize(
    "call,message",
    [
        # these returned -15 and raised ZeroDivisionError before
        (lambda: conv_macs(1, 1, 3, -5), "output_size must be at least 1, got -5"),
        (lambda: conv_macs(1, 1, 3, 5, groups=0), "groups must be at least 1, got 0"),
        (lambda: conv_macs(3, 4, 3, 5, groups=2), r"in_channels \(3\) must be divisible"),
        (lambda: conv_macs(-1, 1, 3, 5), "in_channels must be at least 1"),
        (lambda: conv_macs(1, 0, 3, 5), "out_channels must be at least 1"),
        (lambda: conv_macs(1, 1, 3, (4, 0)), r"output_size \(axis 1\) must be at least 1"),
        (lambda: conv_macs(1, 1, 3, ()), "output_size must have at least one dimension"),
        (lambda: conv_macs(1, 1, 3, 2.5), "output_size must be a whole number"),
        (lambda: conv_macs(True, 1, 3, 5), "in_channels must be a whole number"),
        (lambda: conv_macs(1, 1, 3.0, 5), "kernel_size must be a whole number"),
        (lambda: fc_macs(-3, 5), "in_features must be at least 1, got -3"),
        (lambda: fc_macs(3, 0), "out_features must be at least 1, got 0"),
        (lambda: fc_macs(3, "5"), "out_features must be a whole number"),
        (lambda: dilated_kernel_span(-3, 1), "kernel must be at least 1"),
        (lambda: dilated_kernel_span(3, 0), "dilation must be at least 1"),
        (lambda: fc_param_count(3, 5, bias="no"), "bias must be True or False"),
        (lambda: conv_param_count(1, 6, 5, bias=None), "bias must be True or False"),
        (lambda: pool_output_size(6, 2, ceil_mode="yes"), "ceil_mode must be True or False"),
        (lambda: pool_output_size(6, 2, stride=False), "stride must be a whole number"),
        (lambda: conv_output_size(6, 3, padding=-1), "padding must be at least 0"),
        (lambda: receptive_field([(3, 1)]), "layer 0 must be"),
        (lambda: receptive_field(None), "layers must be a list"),
        (lambda: receptive_field([(3, 0, 1)]), "stride must be at least 1"),
        (lambda: padding_preset("same", 0), "kernel must be at least 1"),
        (lambda: conv_versus_fc(32, 32, 0, 6, 5), "in_channels must be at least 1"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def _torch_costs(layers: list[nn.Module], shape: tuple[int, ...]) -> tuple[int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        nn.Sequential(*layers)(torch.zeros(1, *shape))
    params = sum(p.numel() for layer in layers for p in layer.parameters())
    return params, counter.get_total_flops() // 2


@pytest.mark.parametrize(
    "c_in,c_out,kernel,size,groups,bias",
    [(4, 8, 3, 9, 2, True), (6, 12, 5, 12, 3, False), (8, 8, 3, 7, 8, True), (3, 6, 1, 4, 1, True)],
)
def test_grouped_and_depthwise_separable_costs_match_torch(c_in, c_out, kernel, size, groups, bias):
    out = conv_output_size(size, kernel)
    standard, grouped, separable = grouped_conv_costs(
        c_in, c_out, (kernel, kernel), (out, out), groups, bias
    )
    shape = (c_in, size, size)
    assert (standard.params, standard.macs) == _torch_costs(
        [nn.Conv2d(c_in, c_out, kernel, bias=bias)], shape
    )
    assert (grouped.params, grouped.macs) == _torch_costs(
        [nn.Conv2d(c_in, c_out, kernel, groups=groups, bias=bias)], shape
    )
    assert (separable.params, separable.macs) == _torch_costs(
        [
            nn.Conv2d(c_in, c_in, kernel, groups=c_in, bias=bias),
            nn.Conv2d(c_in, c_out, 1, bias=bias),
        ],
        shape,
    )
    assert grouped.params <= standard.params and separable.macs <= standard.macs or kernel == 1


def test_causal_padding() -> None:
    assert [causal_padding(k, d) for k, d in ((1, 1), (2, 1), (3, 2), (2, 4))] == [0, 1, 4, 4]
