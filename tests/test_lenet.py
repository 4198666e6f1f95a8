"""LeNet-5: shapes, parameter counts and the layer table, checked against the torch module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.lenet import (
    FullyConnectedConv2d,
    LeNet5,
    LeNetArchitecture,
    feature_maps,
    lenet_layer_table,
    parameter_count,
)

LAYERS = ["C1", "S2", "C3", "S4", "C5", "F6", "out"]


def test_parameter_count_is_the_lectures() -> None:
    model = LeNet5()
    assert parameter_count(model) == 61_706
    per_layer = {name: sum(p.numel() for p in getattr(model, name).parameters()) for name in LAYERS}
    assert per_layer == {
        "C1": 156,
        "S2": 0,
        "C3": 2_416,
        "S4": 0,
        "C5": 48_120,
        "F6": 10_164,
        "out": 850,
    }


def test_layer_table_matches_the_module() -> None:
    model = LeNet5()
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda module, inputs, output, name=name: shapes.__setitem__(
                name, tuple(output.shape[1:])
            )
        )
        for name in LAYERS
    ]
    logits = model(torch.rand(3, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    assert logits.shape == (3, 10)
    table = lenet_layer_table()
    assert [row.name for row in table] == LAYERS
    for row in table:
        assert row.output_shape == shapes[row.name], row.name
        module_params = sum(p.numel() for p in getattr(model, row.name).parameters())
        assert row.parameters == module_params, row.name
    assert sum(row.parameters for row in table) == 61_706
    assert [row.macs for row in table] == [117_600, 0, 240_000, 0, 48_000, 10_080, 840]
    assert sum(row.macs for row in table) == 416_520
    assert [row.receptive_field for row in table] == [5, 6, 14, 16, 32, 32, 32]


def test_macs_equal_weights_times_output_cells() -> None:
    """MACs of a conv layer = (weights without biases) x (output cells per channel)."""
    model = LeNet5()
    for row in lenet_layer_table():
        layer = getattr(model, row.name)
        if isinstance(layer, torch.nn.Conv2d):
            cells = row.output_shape[1] * row.output_shape[2]
            assert row.macs == layer.weight.numel() * cells


def test_fully_connected_conv_equals_conv2d() -> None:
    torch.manual_seed(0)
    layer = FullyConnectedConv2d(16, 120, kernel_size=5)
    x = torch.randn(8, 16, 5, 5)
    expected = F.conv2d(x, layer.weight, layer.bias)
    assert torch.allclose(layer(x), expected, atol=1e-5)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.allclose(layer(channels_last), expected, atol=1e-5)
    # Inputs larger than the kernel take the ordinary convolution.
    bigger = torch.randn(2, 16, 7, 7)
    assert torch.allclose(layer(bigger), F.conv2d(bigger, layer.weight, layer.bias), atol=1e-5)


def test_gradients_equal_the_plain_conv_model() -> None:
    torch.manual_seed(0)
    fast = LeNet5()
    plain = LeNet5()
    plain.C5 = torch.nn.Conv2d(16, 120, kernel_size=5)
    plain.load_state_dict(fast.state_dict())
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    F.cross_entropy(fast(x), y).backward()
    F.cross_entropy(plain(x), y).backward()
    for (name, p_fast), p_plain in zip(fast.named_parameters(), plain.parameters(), strict=True):
        assert torch.allclose(p_fast.grad, p_plain.grad, atol=1e-6), name


def test_feature_maps_equal_forward_hooks() -> None:
    torch.manual_seed(3)
    model = LeNet5()
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda _m, _i, output, name=name: captured.__setitem__(name, output.detach())
        )
        for name in ("C1", "S2", "C3", "S4")
    ]
    image = torch.rand(1, 28, 28)
    maps, probabilities = feature_maps(model, image)
    for hook in hooks:
        hook.remove()
    # C1 and C3 are shown after their ReLU; the pooling maps are the module outputs.
    assert np.allclose(maps["C1"], F.relu(captured["C1"])[0].numpy())
    assert np.allclose(maps["S2"], captured["S2"][0].numpy())
    assert np.allclose(maps["C3"], F.relu(captured["C3"])[0].numpy())
    assert np.allclose(maps["S4"], captured["S4"][0].numpy())
    with torch.inference_mode():
        expected = model(image[None]).softmax(dim=1)[0].numpy()
    assert np.allclose(probabilities, expected, atol=1e-6)


def test_architecture_variants_match_the_module() -> None:
    variant = LeNetArchitecture(
        c1_kernel=3, c1_channels=4, c1_padding=1, c3_kernel=3, c3_channels=8, c3_padding=1, pool=2
    )
    table = lenet_layer_table(variant)
    model = LeNet5(variant)
    assert parameter_count(model) == sum(row.parameters for row in table)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert table[4].output_shape == (120, 4, 4)  # C5 no longer covers its whole input
    with pytest.raises(ValueError, match=r"^S4: pooling window spans 4 cells"):
        lenet_layer_table(LeNetArchitecture(pool=4))
    with pytest.raises(ValueError, match=r"^C3: dilated kernel spans 9 cells"):
        lenet_layer_table(LeNetArchitecture(c1_kernel=9, pool=3, c3_kernel=9))
