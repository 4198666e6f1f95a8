"""Where the mistakes live: the test digits as the network sees them just before its answer
(F6's 84 features), laid out in 2D.

    features = f6_features(model, images)   # [N, 84]
    pca_2d(features)                        # at once: the two directions of largest variance
    tsne_2d(features)                       # neighbours stay neighbours (openTSNE, ~1 min)

t-SNE is openTSNE's FFT-accelerated implementation, chosen by measurement on 10,000 points
with 2 cores (benchmarks/embedding_methods.py): faster than scikit-learn's Barnes-Hut t-SNE and
than umap-learn (whose numba compilation alone takes most of its time on a cold start), with
less memory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

BATCH = 2048
THREADS = 2  # the machine this is made for has two cores; more only adds contention


@torch.no_grad()
def f6_features(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """F6's output after its activation, [N, 84] float32: what the output layer reads."""
    captured: list[torch.Tensor] = []
    handle = model.F6.register_forward_hook(
        lambda _module, _inputs, output: captured.append(model.activation(output))
    )
    try:
        for start in range(0, len(images), BATCH):
            model(images[start : start + BATCH])
    finally:
        handle.remove()
    return torch.cat(captured).numpy().astype(np.float32)


def pca_2d(features: np.ndarray) -> np.ndarray:
    """The projection on the two principal components (centred, by SVD), [N, 2] float32."""
    centred = np.asarray(features, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    # The sign of a principal component is arbitrary: fix it so the picture does not flip.
    signs = np.sign(projected[np.abs(projected).argmax(axis=0), [0, 1]])
    return (projected * np.where(signs == 0, 1, signs)).astype(np.float32)


def tsne_2d(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE (openTSNE, FFT-accelerated, PCA initialisation), [N, 2] float32."""
    from openTSNE import TSNE

    embedding = TSNE(
        n_components=2,
        perplexity=perplexity,
        initialization="pca",
        n_jobs=THREADS,
        random_state=seed,
        verbose=False,
    ).fit(np.asarray(features, dtype=np.float64))
    return np.asarray(embedding, dtype=np.float32)
