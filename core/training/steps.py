"""What one training step needs, shared by the loop (core/training/loop.py) and the data-
parallel workers (core/training/parallel.py): the model and optimizer from a config, each
epoch's order and shifts, the evaluation. Both import this module, neither imports the other
back, so the trainer is no longer a circle.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from core.model.lenet import LeNet5
from core.training.config import MAX_SHIFT, TrainConfig

EVAL_BATCH_SIZE = 2048


class WorkerLostError(RuntimeError):
    """A worker process of a data-parallel run died or stopped answering
    (core/training/parallel.py): the run ends `crashed`, and resumes from its last checkpoint
    like any crashed run."""


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, error rate, and probabilities [N, 10] on CPU."""
    model.eval()
    total_loss, probabilities = 0.0, []
    for start in range(0, len(labels), EVAL_BATCH_SIZE):
        x = images[start : start + EVAL_BATCH_SIZE].to(device)
        y = labels[start : start + EVAL_BATCH_SIZE].to(device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        probabilities.append(logits.softmax(dim=1).cpu())
    model.train()
    probabilities = torch.cat(probabilities)
    errors = (probabilities.argmax(dim=1) != labels).sum().item()
    return total_loss / len(labels), errors / len(labels), probabilities


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffle of one epoch depends only on (seed, epoch), so a resumed run sees the same."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator)


def epoch_shifts(seed: int, epoch: int, n: int, max_shift: int = MAX_SHIFT) -> torch.Tensor:
    """[n, 2] whole-pixel shifts (dx, dy) in [-max_shift, max_shift] for one epoch's images,
    in the epoch's shuffled order; like the order, they depend only on (seed, epoch)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch + 7_777_777)
    return torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)


def shift_images(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move each image [N, 1, H, W] by its whole-pixel shift (dx right, dy down), filling with
    0 (background); one gather for the whole batch, exact (no interpolation)."""
    n, _, height, width = images.shape
    dx = shifts[:, 0].to(images.device).view(n, 1, 1)
    dy = shifts[:, 1].to(images.device).view(n, 1, 1)
    rows = torch.arange(height, device=images.device).view(1, height, 1) - dy
    cols = torch.arange(width, device=images.device).view(1, 1, width) - dx
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    flat = rows.clamp(0, height - 1) * width + cols.clamp(0, width - 1)
    source = images.reshape(n, height * width)
    moved = torch.gather(source, 1, flat.reshape(n, -1)).reshape(n, 1, height, width)
    return moved * inside.view(n, 1, height, width).to(images.dtype)


def build_model(
    config: TrainConfig, device: torch.device, memory_format: torch.memory_format
) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The run's network, initialised from its seed, and its optimizer (every worker's)."""
    torch.manual_seed(config.seed)
    model = LeNet5(config.architecture).to(device, memory_format=memory_format)
    # With momentum and weight decay at 0 this is exactly the lecture's plain SGD step.
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
    )
    return model, optimizer


ONECYCLE_WARMUP = 0.3  # one-cycle's rise when no --warmup is given (PyTorch's pct_start)
ONECYCLE_START = 1 / 25  # ... from lr/25 (OneCycleLR's div_factor)
ONECYCLE_END = 1e-4  # ... down to lr/10,000 (about its final_div_factor's)


def scheduled(config: TrainConfig) -> bool:
    """Whether the rate changes during the run (else the optimizer keeps config.lr)."""
    return config.schedule != "constant" or config.warmup > 0


def learning_rate(config: TrainConfig, step: int) -> float:
    """The rate of step `step` (0 = the run's first) of epochs x batches_per_epoch steps: a
    pure function of the step, so a resumed run and every data-parallel worker agree."""
    total = max(1, config.epochs * config.batches_per_epoch)
    lr, share = config.lr, config.warmup
    if config.schedule == "onecycle":
        rise = max(1, round((share or ONECYCLE_WARMUP) * total))
        if step < rise:
            return lr * (ONECYCLE_START + (1 - ONECYCLE_START) * (step + 1) / rise)
        progress = (step - rise + 1) / max(1, total - rise)
        return lr * (ONECYCLE_END + (1 - ONECYCLE_END) * 0.5 * (1 + math.cos(math.pi * progress)))
    rise = round(share * total)
    if step < rise:
        return lr * (step + 1) / rise
    progress = (step - rise) / max(1, total - rise)
    if config.schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "linear":
        return lr * (1 - progress)
    return lr


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
