"""core.attribution against plain torch: occlusion against a brute-force loop, saliency against
torch.autograd, Grad-CAM's weights against C3's gradients; and, on a trained run, deleting the
pixels occlusion or gradient x input rank highest hurts more than deleting random pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.analysis.attribution import (
    deletion_curve,
    faithfulness,
    grad_cam,
    gradient_x_input,
    occlusion,
    random_deletion_curve,
    saliency,
)
from core.analysis.evaluate import run_model
from core.model import mnist
from core.model.lenet import LeNet5, LeNetArchitecture
from core.runs.store import open_run
from core.training.config import TrainConfig
from core.training.loop import train

# Floats from conv/linear kernels: run again under a capped instruction set (tests/isa.py).
pytestmark = pytest.mark.numerics


def untrained(seed: int = 0, **architecture) -> LeNet5:
    torch.manual_seed(seed)
    return LeNet5(LeNetArchitecture(**architecture)).eval()


def blob(seed: int = 1) -> torch.Tensor:
    """A digit-like image: a random stroke blurred, in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    image = (torch.rand(1, 28, 28, generator=generator) > 0.8).float()
    image = torch.nn.functional.avg_pool2d(image[None], 3, 1, 1)[0]
    return (image / image.max()).clamp(0, 1)


def brute_force_occlusion(model, image, target, patch, stride, fill) -> np.ndarray:
    """The definition, one patch position at a time."""
    with torch.no_grad():
        base = model(image[None]).softmax(1)[0, target].item()
    total, count = np.zeros((28, 28)), np.zeros((28, 28))
    positions = -(-(28 - patch) // stride) + 1
    for i in range(positions):
        for j in range(positions):
            top, left = i * stride, j * stride
            covered = image.clone()
            covered[:, top : top + patch, left : left + patch] = fill
            with torch.no_grad():
                drop = base - model(covered[None]).softmax(1)[0, target].item()
            total[top : top + patch, left : left + patch] += drop
            count[top : top + patch, left : left + patch] += 1
    assert count.min() > 0  # every pixel covered
    return total / count


@pytest.mark.parametrize(
    ("patch", "stride", "fill"), [(4, 1, 0.0), (5, 2, 0.5), (4, 3, 1.0), (6, 4, 0.0)]
)
def test_occlusion_is_the_mean_drop_over_the_patches_covering_each_pixel(
    patch: int, stride: int, fill: float
) -> None:
    model, image = untrained(), blob()
    expected = brute_force_occlusion(model, image, 3, patch, stride, fill)
    got = occlusion(model, image, 3, patch=patch, stride=stride, fill=fill)
    assert got.shape == (28, 28)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_occlusion_refuses_a_stride_past_the_patch() -> None:
    with pytest.raises(ValueError, match="stride"):
        occlusion(untrained(), blob(), 0, patch=3, stride=4)


@pytest.mark.parametrize("architecture", [{}, {"activation": "tanh", "pooling": "avg"}])
def test_saliency_and_gradient_x_input_are_torch_autograds_gradient(architecture: dict) -> None:
    model, image = untrained(**architecture), blob()
    for target in (0, 7):
        x = image[None].clone().requires_grad_()
        (gradient,) = torch.autograd.grad(model(x)[0, target], x)
        expected = gradient[0, 0].numpy()
        np.testing.assert_allclose(saliency(model, image, target), np.abs(expected), atol=1e-7)
        np.testing.assert_allclose(
            gradient_x_input(model, image, target), expected * image[0].numpy(), atol=1e-7
        )


@pytest.mark.parametrize("architecture", [{}, {"c3_channels": 8, "c1_padding": 2}])
def test_grad_cam_weights_are_the_spatial_means_of_c3s_gradients(architecture: dict) -> None:
    model, image = untrained(**architecture), blob()
    target = 4
    captured = {}
    handle = model.C3.register_forward_hook(lambda _m, _i, out: captured.update(c3=out))
    logit = model(image[None])[0, target]
    (gradient,) = torch.autograd.grad(logit, captured["c3"])
    handle.remove()
    expected_weights = gradient[0].mean(dim=(1, 2)).numpy()
    activations = captured["c3"][0].detach().numpy()

    cam = grad_cam(model, image, target)
    np.testing.assert_allclose(cam.weights, expected_weights, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(cam.activations, activations, atol=1e-6)
    # The map is ReLU(sum_c w_c A_c) at C3's resolution, and covers the 28x28 input.
    expected_map = np.maximum((expected_weights[:, None, None] * activations).sum(axis=0), 0)
    np.testing.assert_allclose(cam.coarse, expected_map, rtol=1e-4, atol=1e-6)
    assert cam.map.shape == (28, 28) and cam.map.min() >= 0


def test_deletion_removes_the_highest_scored_pixels_first() -> None:
    model, image = untrained(), blob()
    scores = np.arange(784, dtype=float).reshape(28, 28)  # the last pixels score highest
    curve = deletion_curve(model, image, 2, scores, fractions=(0.0, 0.5))
    kept = image.clone()
    kept.view(-1)[392:] = 0.0  # the top half by score: the bottom 14 rows
    with torch.no_grad():
        expected = model(torch.stack([image, kept])).softmax(1)[:, 2].numpy()
    np.testing.assert_allclose(curve, expected, atol=1e-7)


# ------------------------------------------------------------------ on a trained run


@pytest.fixture(scope="module")
def trained(real_mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("attribution") / "run"
    train(TrainConfig(epochs=1, train_subset=16_384, seed=0), folder)
    return run_model(open_run(folder))


@pytest.mark.mnist
def test_top_pixels_by_occlusion_and_gradient_x_input_matter_more_than_random(trained) -> None:
    images, labels = mnist.load_test_set()
    drops = {"occlusion": [], "gradient x input": [], "random": []}
    for index in range(100):
        image = images[index]
        target = int(labels[index])
        maps = {
            "occlusion": occlusion(trained, image, target),
            "gradient x input": gradient_x_input(trained, image, target),
        }
        for name, scores in maps.items():
            before, after = deletion_curve(trained, image, target, scores, (0.0, 0.1))
            drops[name].append(before - after)
        before, after = random_deletion_curve(trained, image, target, (0.0, 0.1))
        drops["random"].append(before - after)
    mean = {name: float(np.mean(values)) for name, values in drops.items()}
    # Measured here: occlusion and gradient x input take away about half of the probability,
    # random 10% of pixels (mostly background, already 0) a few percent. A margin of 0.1 in
    # probability is far outside what CPU rounding could move on 100 digits.
    assert mean["occlusion"] > mean["random"] + 0.1, mean
    assert mean["gradient x input"] > mean["random"] + 0.1, mean


@pytest.mark.mnist
def test_faithfulness_marks_a_map_that_is_no_better_than_random(trained) -> None:
    images, labels = mnist.load_test_set()
    image, target = images[0], int(labels[0])
    # A map that ranks the darkest pixels highest deletes background first: nothing changes,
    # which is no steeper than random deletion.
    result = faithfulness(
        trained,
        image,
        target,
        {"occlusion": occlusion(trained, image, target), "background": -image[0].numpy()},
    )
    assert result.explains == {"occlusion": True, "background": False}
    assert result.curves["background"][0] == pytest.approx(result.random[0])
