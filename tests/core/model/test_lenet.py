"""LeNet-5: shapes, parameter counts and the layer table, checked against the torch module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.model.lenet import (
    FullyConnectedConv2d,
    LeNet5,
    LeNetArchitecture,
    feature_maps,
    lenet_layer_table,
    parameter_count,
)

# Floats from conv/linear kernels: run again under a capped instruction set (tests/isa.py).
pytestmark = pytest.mark.numerics

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


def digits_with_blank_margins(n: int, seed: int) -> torch.Tensor:
    """[n, 1, 28, 28] in [0, 1] with MNIST's blank background: whole pooling windows of one
    value (ties, and maxima <= 0 after C1), where pooling before or after ReLU could differ."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    images[:, :, 6:22, 8:20] = torch.rand(n, 1, 16, 12, generator=generator)
    images[images < 0.4] = 0.0
    return images


@pytest.mark.parametrize(
    "architecture",
    [LeNetArchitecture(), LeNetArchitecture(c1_kernel=7, c1_padding=2, c3_padding=1)],
    ids=["lecture", "variant"],
)
def test_pooling_before_relu_trains_exactly_like_after(architecture: LeNetArchitecture) -> None:
    """The model max-pools before its ReLU (a quarter of the ReLUs): the same losses, gradients
    and weights, bit for bit, over SGD steps, as the lecture's order (ReLU, then pool)."""
    models, optimizers = [], []
    for pool_first in (True, False):
        torch.manual_seed(0)
        model = LeNet5(architecture).to(memory_format=torch.channels_last)
        model.pool_first = pool_first
        models.append(model)
        optimizers.append(torch.optim.SGD(model.parameters(), lr=0.5))
    assert LeNet5(architecture).pool_first
    torch.manual_seed(0)
    start = LeNet5(architecture).state_dict()
    labels = torch.arange(32) % 10
    for step in range(8):
        x = digits_with_blank_margins(32, step)
        losses = []
        for model, optimizer in zip(models, optimizers, strict=True):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss)
        assert torch.equal(losses[0], losses[1]), step
        for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
            assert torch.equal(a.grad, b.grad) and torch.equal(a, b), step
    moved = max((models[0].state_dict()[k] - v).abs().max().item() for k, v in start.items())
    assert moved > 1e-2  # the steps were real


@pytest.mark.parametrize(
    ("activation", "pooling"), [("tanh", "max"), ("sigmoid", "max"), ("relu", "avg")]
)
def test_only_relu_with_max_pooling_pools_first(activation: str, pooling: str) -> None:
    """tanh after max pooling could pick another maximum among values it squashes to the same
    float, and averages do not commute with any of them: those keep the lecture's order."""
    architecture = LeNetArchitecture(activation=activation, pooling=pooling)
    model = LeNet5(architecture)
    assert not model.pool_first
    x = digits_with_blank_margins(4, 0)
    act = model.activation
    h = model.S2(act(model.C1(F.pad(x, (2,) * 4))))
    h = model.S4(act(model.C3(h)))
    h = act(model.C5(h)).flatten(1)
    expected = model.out(act(model.F6(h)))
    assert torch.equal(model(x), expected)


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
    # C1 and C3 are shown after their ReLU; the pooling maps are what follows the ReLU too
    # (the model pools first and applies ReLU after: the same numbers).
    assert model.pool_first
    assert np.allclose(maps["C1"], F.relu(captured["C1"])[0].numpy())
    assert np.allclose(maps["S2"], F.relu(captured["S2"])[0].numpy())
    assert np.allclose(maps["C3"], F.relu(captured["C3"])[0].numpy())
    assert np.allclose(maps["S4"], F.relu(captured["S4"])[0].numpy())
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
