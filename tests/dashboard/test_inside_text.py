"""The text equivalents of the inside-the-network and welcome pages' figures
(dashboard/charts.py): the learned kernels, the feature maps and the parameter comparison."""

from __future__ import annotations

import numpy as np

from core.convolution.arithmetic import conv_versus_fc
from dashboard.charts import feature_maps_text, kernels_text, parameter_comparison_text


def test_c1_kernels_text_gives_the_range_the_strongest_kernel_and_every_weight() -> None:
    weights = np.full((6, 1, 5, 5), 0.1)
    weights[2, 0] = 0.5  # kernel 3 of 6: mean |weight| 0.5
    weights[0, 0, 1, 3] = -0.75
    weights[4, 0, 4, 0] = 0.9
    summary, table = kernels_text(weights, "C1")
    assert summary.startswith("C1: 6 kernels of 5×5, weights from -0.75 to 0.90")
    assert "is kernel 3 of 6, at 0.50" in summary
    assert list(table.columns) == ["kernel", "row"] + [f"column {c}" for c in range(1, 6)]
    assert table.shape == (30, 7)  # one row a kernel row
    first_kernel_row_2 = table[(table["kernel"] == 1) & (table["row"] == 2)].iloc[0]
    assert first_kernel_row_2["column 4"] == -0.75
    assert table[(table["kernel"] == 5) & (table["row"] == 5)].iloc[0]["column 1"] == 0.9


def test_c3_kernels_text_names_the_strongest_column_and_row() -> None:
    weights = np.full((16, 6, 5, 5), -0.05)
    weights[10, 3] = 0.4  # output channel 11 (column), input channel 4 (row)
    weights[0, 0, 0, 0] = -0.6
    summary, table = kernels_text(weights, "C3")
    assert "C3: 96 kernels of 5×5" in summary
    assert "16 output channels (columns) and 6 input channels (rows)" in summary
    assert "weights from -0.60 to 0.40" in summary
    assert "column 11, row 4, at 0.40" in summary
    assert list(table.columns) == [
        "output channel",
        "input channel",
        "smallest weight",
        "largest weight",
        "mean |weight|",
    ]
    assert table.shape == (96, 5)
    strongest = table[(table["output channel"] == 11) & (table["input channel"] == 4)].iloc[0]
    assert strongest["mean |weight|"] == 0.4 and strongest["largest weight"] == 0.4
    assert table.iloc[0]["smallest weight"] == -0.6


def test_feature_maps_text_finds_the_strongest_map_its_peak_and_the_silent_ones() -> None:
    maps = np.zeros((6, 28, 28))
    maps[0, 20:, 20:] = 0.5
    maps[2, 3, 4] = 2.41  # map 3: top left
    maps[4, 14, 14] = 1.0
    text = feature_maps_text("C1", maps)
    assert text.startswith("C1: 6 maps of 28×28. The strongest, map 3, peaks at 2.41 (top left)")
    assert f"the mean activation is {maps.mean():.2f}" in text
    assert "3 of 6 maps are silent (all zero)." in text
    assert "silent" not in feature_maps_text("S4", np.ones((16, 5, 5)))
    corner = np.zeros((6, 14, 14))
    corner[5, 13, 12] = 0.3
    assert "map 6, peaks at 0.30 (bottom right)" in feature_maps_text("S2", corner)


def test_feature_maps_text_of_a_silent_layer() -> None:
    assert feature_maps_text("C3", np.zeros((16, 10, 10))) == (
        "C3: all 16 maps of 10×10 are zero; nothing reaches this layer."
    )


def test_parameter_comparison_text_gives_both_counts_and_the_ratio() -> None:
    layers = conv_versus_fc(28, 28, 1, 6, 5)
    text = parameter_comparison_text(layers.fc_params, layers.conv_params)
    assert f"fully connected layer needs {layers.fc_params:,} parameters" in text
    assert f"the convolutional layer {layers.conv_params:,}: {layers.ratio:,.0f}× as many" in text
    assert "2.0× as many" in parameter_comparison_text(20, 10)
    assert parameter_comparison_text(12, 60) == (
        "The convolutional layer needs 60 parameters, more than the fully connected layer's 12"
        " (bars on a log scale)."
    )
