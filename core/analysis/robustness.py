"""Where the answer breaks: adversarial perturbations (FGSM) and plain transformations.

    fgsm(model, images, labels, epsilon)          # x + epsilon * sign(grad of the loss), in [0, 1]
    fgsm_sweep(model, images, labels)             # accuracy at each epsilon, every prediction
    transformed(image, dx=2, angle=15, scale=0.8) # one digit shifted, rotated, scaled
    transformation_curves(model, image)           # its probabilities along each transformation
    shift_sweep(model, images, labels)            # test accuracy against a shift of every digit

`model` is a `LeNet5` in eval mode (it returns logits); `images` a float batch [N, 1, 28, 28]
in [0, 1], `labels` int64 [N]. FGSM is Captum's (`captum.robust.FGSM`), given the
cross-entropy of the logits as its loss: its default, minus the log of the output, expects
probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from captum.robust import FGSM
from torch import nn
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from core.i18n import N_

EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
BATCH = (
    2048  # core.training.steps.evaluate's batch: the same batches give the same logits, bit for bit
)
SHIFTS = tuple(range(-6, 7))  # pixels
ANGLES = tuple(range(-60, 61, 5))  # degrees
SCALES = tuple(round(0.5 + 0.05 * k, 2) for k in range(21))  # 0.5 .. 1.5

Progress = Callable[[float], None]


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels, reduction="none")


def gradient_sign(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """sign(d loss / d x) per pixel (-1, 0 or 1), loss = cross-entropy of the logits, from
    Captum's FGSM at epsilon 1 without bounds: x + sign - x, rounded (exact: |rounding| < 1e-6)."""
    attack = FGSM(model, loss_func=_cross_entropy)
    # Captum leaves pixels whose gradient is below 1e-6 untouched; here every pixel moves by
    # epsilon * sign(gradient), as the method is defined (sign(0) = 0).
    attack.zero_thresh = 0.0
    images = images.detach().float().clone().requires_grad_()
    moved = attack.perturb(images, epsilon=1.0, target=labels).detach()
    return (moved - images.detach()).round()


def fgsm(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float
) -> torch.Tensor:
    """The fast gradient sign method (Goodfellow et al. 2015): each image moved by `epsilon`
    in the direction that increases its cross-entropy loss fastest (per pixel), clamped to
    the valid range [0, 1]."""
    return _step(images.detach().float(), gradient_sign(model, images, labels), epsilon)


def _step(images: torch.Tensor, sign: torch.Tensor, epsilon: float) -> torch.Tensor:
    return (images + float(epsilon) * sign).clamp(0.0, 1.0)


@dataclass(frozen=True)
class FgsmSweep:
    epsilons: np.ndarray  # [E]
    accuracy: np.ndarray  # [E] share of the test digits still classified right
    predictions: np.ndarray  # [E, N] int8: each digit's predicted class at each epsilon

    def flipped(self, labels: np.ndarray, epsilon_index: int) -> np.ndarray:
        """Indices of digits right at epsilon 0 and wrong at this epsilon."""
        right = self.predictions[0] == labels
        return np.flatnonzero(right & (self.predictions[epsilon_index] != labels))


def fgsm_sweep(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilons: Sequence[float] = EPSILONS,
    progress: Progress | None = None,
) -> FgsmSweep:
    """Accuracy against epsilon on a whole set, in batches of BATCH. At epsilon 0 the images
    are unchanged, so the accuracy is the plain test accuracy.

    The gradient's sign does not depend on epsilon: one backward pass per batch serves every
    epsilon (calling Captum's FGSM once per epsilon took 4.6x the forward passes' time,
    measured in benchmarks/why_speed.py, and missed the 20 s target)."""
    predictions = np.zeros((len(epsilons), len(labels)), dtype=np.int8)
    steps, done = -(-len(labels) // BATCH), 0
    for start in range(0, len(labels), BATCH):
        x, y = images[start : start + BATCH], labels[start : start + BATCH]
        sign = gradient_sign(model, x, y) if any(epsilons) else None
        for e, epsilon in enumerate(epsilons):
            moved = _step(x, sign, epsilon) if epsilon else x
            with torch.no_grad():
                # softmax, then argmax: exactly how core.training.steps.evaluate decides
                predictions[e, start : start + BATCH] = model(moved).softmax(1).argmax(1).numpy()
        done += 1
        if progress:
            progress(done / steps)
    accuracy = (predictions == labels.numpy()[None]).mean(axis=1)
    return FgsmSweep(np.asarray(epsilons, dtype=np.float64), accuracy, predictions)


def shift_batch(images: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move every image [.., H, W] right by dx and down by dy pixels; what leaves the field is
    dropped and the gap filled with background (0), never wrapped."""
    height, width = images.shape[-2:]
    padded = F.pad(images, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top : top + height, left : left + width]


def transformed(
    image: torch.Tensor, dx: int = 0, dy: int = 0, angle: float = 0.0, scale: float = 1.0
) -> torch.Tensor:
    """One digit [1, 28, 28] rotated by `angle` degrees (counter-clockwise) and scaled about
    its centre (bilinear), then shifted by whole pixels."""
    image = torch.as_tensor(image, dtype=torch.float32).reshape(1, *image.shape[-2:])
    if angle or scale != 1.0:
        image = TF.affine(
            image,
            angle=float(angle),
            translate=[0.0, 0.0],
            scale=float(scale),
            shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR,
        ).clamp(0.0, 1.0)
    return shift_batch(image, dx, dy)


@dataclass(frozen=True)
class TransformationCurve:
    name: str  # "horizontal shift", "vertical shift", "rotation", "scale"
    unit: str  # "px", "°", "×"
    values: tuple[float, ...]
    probabilities: np.ndarray  # [len(values), 10]


@torch.no_grad()
def transformation_curves(model: nn.Module, image: torch.Tensor) -> list[TransformationCurve]:
    """The ten probabilities of one digit as it is shifted (-6..6 px either way), rotated
    (-60..60 degrees) and scaled (0.5..1.5)."""
    settings = {
        (N_("horizontal shift"), "px"): [dict(dx=s) for s in SHIFTS],
        (N_("vertical shift"), "px"): [dict(dy=s) for s in SHIFTS],
        (N_("rotation"), "°"): [dict(angle=a) for a in ANGLES],
        (N_("scale"), "×"): [dict(scale=s) for s in SCALES],
    }
    values = {"horizontal shift": SHIFTS, "vertical shift": SHIFTS, "rotation": ANGLES}
    curves = []
    for (name, unit), variants in settings.items():
        batch = torch.stack([transformed(image, **variant) for variant in variants])
        probabilities = model(batch).softmax(dim=1).numpy()
        curves.append(
            TransformationCurve(name, unit, tuple(values.get(name, SCALES)), probabilities)
        )
    return curves


@dataclass(frozen=True)
class ShiftSweep:
    shifts: np.ndarray  # [S] pixels
    horizontal: np.ndarray  # [S] test accuracy with every digit moved right by each shift
    vertical: np.ndarray  # [S] ... moved down


@torch.no_grad()
def shift_sweep(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    shifts: Sequence[int] = SHIFTS,
    progress: Progress | None = None,
) -> ShiftSweep:
    """Accuracy on the whole set against a shift of every digit, left-right and up-down."""
    accuracy = np.zeros((2, len(shifts)))
    steps, done = 2 * len(shifts), 0
    for axis in range(2):
        for s, shift in enumerate(shifts):
            right = 0
            for start in range(0, len(labels), BATCH):
                x = images[start : start + BATCH]
                x = shift_batch(x, shift, 0) if axis == 0 else shift_batch(x, 0, shift)
                predicted = model(x).softmax(1).argmax(1)  # as core.training.steps.evaluate decides
                right += (predicted == labels[start : start + BATCH]).sum().item()
            accuracy[axis, s] = right / len(labels)
            done += 1
            if progress:
                progress(done / steps)
    return ShiftSweep(np.asarray(shifts), accuracy[0], accuracy[1])
