"""Which pixels drove an answer: occlusion, gradient saliency, gradient x input and Grad-CAM,
and a faithfulness check (delete the pixels a method ranks highest; does the answer fade
faster than when deleting random pixels?).

    occlusion(model, image, target, patch=4, stride=1, fill=0.0)   # probability drop per pixel
    saliency(model, image, target)                                 # |d logit / d pixel|
    gradient_x_input(model, image, target)                         # pixel * d logit / d pixel
    grad_cam(model, image, target)                                 # at C3, upsampled to 28x28
    faithfulness(model, image, target, {"occlusion": map, ...})    # deletion curves vs random

`model` is a `LeNet5` in eval mode, `image` a float tensor [1, 28, 28] in [0, 1], `target` a
class 0-9. Every map is a float32 numpy array [28, 28]. The methods are Captum's (PyTorch's
interpretability library); the model returns logits, so occlusion, which measures a drop in
probability, wraps it in a softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import InputXGradient, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from core.i18n import _

SIDE = 28
# Deleting up to half of the pixels, in steps of 5%: a digit's ink is 10-25% of its pixels,
# so every method has removed all of it well before the end of the curve.
DELETION_FRACTIONS = tuple(round(0.05 * k, 2) for k in range(11))
RANDOM_ORDERINGS = 16  # random deletion curves averaged: the baseline a method must beat
# A method "explains" a digit when its deletion curve lies below the random one by more than
# this much on average (in probability): equal curves are no explanation.
EXPLAINS_MARGIN = 0.01


def _batch(image: torch.Tensor) -> torch.Tensor:
    """[1, 28, 28] (or [28, 28]) -> a detached float batch [1, 1, 28, 28]."""
    image = torch.as_tensor(image, dtype=torch.float32)
    return image.reshape(1, 1, *image.shape[-2:]).detach().clone()


def _probabilities(model: nn.Module):
    return lambda x: model(x).softmax(dim=1)


def occlusion(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    patch: int = 4,
    stride: int = 1,
    fill: float = 0.0,
) -> np.ndarray:
    """How much the probability of `target` drops when a `patch` x `patch` square of `fill`
    covers each pixel: the mean drop over all the patch positions that cover it.

    Positions are 0, stride, 2*stride, ... along each axis, as many as needed to reach the
    edge (Captum's rule: ceil((28 - patch) / stride) + 1; a last patch past the edge is cut
    off there), so every pixel is covered. All occluded copies go through the network in one
    batch (625 of them at patch 4, stride 1)."""
    x = _batch(image)
    if not 1 <= patch <= x.shape[-1] or not 1 <= stride <= patch:
        # A stride larger than the patch would leave pixels no patch covers.
        raise ValueError(
            _("patch must be 1 to {size}, and stride 1 to the patch size").format(size=x.shape[-1])
        )
    positions = (-(-(x.shape[-1] - patch) // stride) + 1) ** 2
    with torch.no_grad():
        attribution = Occlusion(_probabilities(model)).attribute(
            x,
            sliding_window_shapes=(1, patch, patch),
            strides=(1, stride, stride),
            baselines=fill,
            target=int(target),
            perturbations_per_eval=positions,
        )
    return attribution[0, 0].numpy().astype(np.float32)


def saliency(model: nn.Module, image: torch.Tensor, target: int) -> np.ndarray:
    """The absolute gradient of the target's logit with respect to each input pixel."""
    x = _batch(image).requires_grad_()
    attribution = Saliency(model).attribute(x, target=int(target), abs=True)
    return attribution[0, 0].detach().numpy().astype(np.float32)


def gradient_x_input(model: nn.Module, image: torch.Tensor, target: int) -> np.ndarray:
    """Each pixel times the gradient of the target's logit there (signed: positive pixels
    speak for the class). Zero wherever the image is zero, i.e. on the whole background."""
    x = _batch(image).requires_grad_()
    attribution = InputXGradient(model).attribute(x, target=int(target))
    return attribution[0, 0].detach().numpy().astype(np.float32)


@dataclass(frozen=True)
class GradCam:
    map: np.ndarray  # [28, 28] float32, >= 0: `coarse` upsampled to the input
    coarse: np.ndarray  # [H, W] at C3's output (10x10 in the lecture's network)
    weights: np.ndarray  # [C3 channels]: the spatial mean of the target's gradient per map
    activations: np.ndarray  # [C3 channels, H, W]: C3's output for this image


def grad_cam(model: nn.Module, image: torch.Tensor, target: int) -> GradCam:
    """Grad-CAM at C3 (C5's output is 1x1, where Grad-CAM has nothing to localise):
    ReLU(sum_c w_c A_c) with w_c the spatial mean of d logit / d A_c, A = C3's output.

    The map is bilinearly upsampled to the padded input (32x32 for LeNet-5) and the padding
    cut off, so that it lies over the 28x28 digit. (An approximation: C3's units see 14x14
    windows of the input, 2 pixels apart; upsampling spreads each over its share.)"""
    x = _batch(image).requires_grad_()
    captured: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output: torch.Tensor) -> None:
        captured["c3"] = output

    handle = model.C3.register_forward_hook(keep)
    try:
        coarse = LayerGradCam(model, model.C3).attribute(
            x, target=int(target), relu_attributions=True
        )
        # Captum returns only the map; its weights are the same spatial means, taken here from
        # one more backward pass so that they can be shown (and checked).
        logit = model(x)[0, int(target)]
        (gradient,) = torch.autograd.grad(logit, captured["c3"])
    finally:
        handle.remove()
    activations = captured["c3"].detach()[0]
    weights = gradient[0].mean(dim=(1, 2))
    padding = getattr(model, "input_padding", 0)
    side = x.shape[-1] + 2 * padding
    upsampled = LayerAttribution.interpolate(coarse.detach(), (side, side), "bilinear")
    crop = upsampled[0, 0, padding : padding + x.shape[-1], padding : padding + x.shape[-1]]
    return GradCam(
        map=crop.numpy().astype(np.float32),
        coarse=coarse.detach()[0, 0].numpy().astype(np.float32),
        weights=weights.numpy().astype(np.float32),
        activations=activations.numpy().astype(np.float32),
    )


def deletion_order(scores: np.ndarray) -> np.ndarray:
    """Pixel indices (of the flattened 28x28) from the highest score down; ties keep their
    reading order, so the curve is reproducible."""
    return np.argsort(-np.asarray(scores, dtype=np.float64).ravel(), kind="stable")


def _deletion_batch(
    image: torch.Tensor, orders: np.ndarray, fractions: tuple[float, ...], fill: float
) -> torch.Tensor:
    """For each ordering [R, 784] and each fraction: the image with that share of its pixels
    (the first in the ordering) set to `fill`. [R * len(fractions), 1, 28, 28]."""
    flat = _batch(image).reshape(-1)
    pixels = flat.numel()
    copies = []
    for order in orders:
        for fraction in fractions:
            copy = flat.clone()
            copy[torch.from_numpy(order[: round(fraction * pixels)].copy())] = fill
            copies.append(copy)
    side = int(round(pixels**0.5))
    return torch.stack(copies).reshape(-1, 1, side, side)


@torch.no_grad()
def deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    scores: np.ndarray,
    fractions: tuple[float, ...] = DELETION_FRACTIONS,
    fill: float = 0.0,
) -> np.ndarray:
    """The probability of `target` after deleting (setting to `fill`) the top `fraction` of
    pixels by `scores`, for each fraction."""
    batch = _deletion_batch(image, deletion_order(scores)[None], fractions, fill)
    return model(batch).softmax(dim=1)[:, int(target)].numpy()


@torch.no_grad()
def random_deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    fractions: tuple[float, ...] = DELETION_FRACTIONS,
    fill: float = 0.0,
    orderings: int = RANDOM_ORDERINGS,
    seed: int = 0,
) -> np.ndarray:
    """The same curve for pixels deleted in random order, averaged over `orderings` orders."""
    generator = np.random.default_rng(seed)
    pixels = _batch(image).numel()
    orders = np.stack([generator.permutation(pixels) for _order in range(orderings)])
    batch = _deletion_batch(image, orders, fractions, fill)
    probabilities = model(batch).softmax(dim=1)[:, int(target)].numpy()
    return probabilities.reshape(orderings, len(fractions)).mean(axis=0)


@dataclass(frozen=True)
class Faithfulness:
    fractions: tuple[float, ...]
    curves: dict[str, np.ndarray]  # method -> probability after deleting each fraction
    random: np.ndarray  # the random-deletion curve
    explains: dict[str, bool]  # is the method's curve clearly below random?

    def gap(self, method: str) -> float:
        """How far below the random curve the method's lies, on average (probability)."""
        return float(np.mean(self.random - self.curves[method]))


def faithfulness(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    maps: dict[str, np.ndarray],
    fractions: tuple[float, ...] = DELETION_FRACTIONS,
    fill: float = 0.0,
) -> Faithfulness:
    """Deletion curves of each attribution map and of random deletion. A method whose curve
    is no steeper than random (not below it by EXPLAINS_MARGIN on average) does not explain
    this digit."""
    curves = {
        name: deletion_curve(model, image, target, scores, fractions, fill)
        for name, scores in maps.items()
    }
    random = random_deletion_curve(model, image, target, fractions, fill)
    explains = {
        name: bool(np.mean(random - curve) > EXPLAINS_MARGIN) for name, curve in curves.items()
    }
    return Faithfulness(tuple(fractions), curves, random, explains)


def class_probabilities(model: nn.Module, image: torch.Tensor) -> np.ndarray:
    """The ten digits' probabilities for one image."""
    with torch.no_grad():
        return F.softmax(model(_batch(image)), dim=1)[0].numpy()
