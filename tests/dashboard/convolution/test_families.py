"""The groups and causal figures, inspected without a browser."""

from __future__ import annotations

import numpy as np

from core.convolution.causal import causal_stack
from dashboard.convolution.families import causal_stack_figure, groups_figure


def test_groups_figure_is_block_diagonal() -> None:
    z = np.asarray(groups_figure(4, 6, 2).data[0].z)
    assert z.shape == (6, 4)
    assert (z[:3, :2] == 0).all() and (z[3:, 2:] == 1).all()
    assert (z[:3, 2:] == -1).all() and (z[3:, :2] == -1).all()
    depthwise = np.asarray(groups_figure(3, 3, 3).data[0].z)
    assert (np.diag(depthwise) == [0, 1, 2]).all() and (depthwise >= 0).sum() == 3


def test_causal_figure_highlights_the_cone() -> None:
    stack = causal_stack(np.arange(10.0), [np.ones(2) / 2] * 3, [1, 2, 4])
    figure = causal_stack_figure(stack, 9)
    cone = np.asarray(figure.data[1].z)
    assert np.nansum(cone[0]) == 8  # input cells 2..9 feed output 9 (receptive field 8)
    assert np.nansum(cone[-1]) == 1
    assert figure.data[2].y[0] == 3  # the clickable cells sit on the top level
