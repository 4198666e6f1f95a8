"""The explorer's figures, inspected without a browser: frames, the selected window, presets."""

from __future__ import annotations

import base64

import numpy as np

from core.convolution.reference import conv2d, pool2d
from dashboard.convolution.views import (
    FEED_COLOUR,
    MAX_FRAMES,
    frame_cells,
    kernel_stack_figure,
    sliding_window_figure,
)


def test_one_frame_per_output_cell_and_the_selected_window() -> None:
    result = conv2d(np.arange(25.0).reshape(1, 5, 5), np.ones((1, 1, 3, 3)), padding=1, stride=2)
    figure = sliding_window_figure(result.padded[0], result.output[0], result.geometry, (1, 2))
    spec = figure.to_dict()
    assert [frame["name"] for frame in spec["frames"]] == [
        f"{i},{j}" for i in range(3) for j in range(3)
    ]
    window = [s for s in spec["layout"]["shapes"] if s.get("line", {}).get("color") == "#dc2626"]
    # Output (1, 2) with stride 2 reads padded rows 2-4, columns 4-6.
    taps = window[0]
    assert (taps["x0"], taps["x1"], taps["y0"], taps["y1"]) == (3.5, 6.5, 1.5, 4.5)
    assert spec["layout"]["sliders"][0]["active"] == 5
    z = spec["data"][2]["z"]  # plotly sends numpy arrays as base64 typed arrays
    decoded = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(3, 3)
    np.testing.assert_array_equal(decoded, result.output[0])


def test_dilated_taps_are_drawn_one_by_one() -> None:
    result = conv2d(np.ones((1, 7, 7)), np.ones((1, 1, 3, 3)), dilation=2)
    spec = sliding_window_figure(
        result.padded[0], result.output[0], result.geometry, (0, 0)
    ).to_dict()
    path = next(s for s in spec["layout"]["shapes"] if s["type"] == "path")["path"]
    assert path.count("M") == 9  # nine taps, gaps between them


def test_frames_are_capped() -> None:
    cells = frame_cells(40, 40)
    assert len(cells) == MAX_FRAMES and cells[0] == (0, 0)
    assert len(frame_cells(3, 4)) == 12


def test_one_kernel_stack_trace_per_input_channel() -> None:
    data = kernel_stack_figure(np.ones((3, 2, 2)), "k").to_dict()["data"]
    assert [trace["type"] for trace in data] == ["heatmap"] * 3 + ["scatter"] * 3  # + numbers


def test_max_pooling_padding_reads_pad_never_minus_inf() -> None:
    result = pool2d(np.arange(16.0).reshape(1, 4, 4), (2, 2), (2, 2), (1, 1), "max")
    assert np.isneginf(result.padded[0, 0, 0])  # max pooling pads with -inf
    spec = sliding_window_figure(
        result.padded[0], result.output[0], result.geometry, (0, 0)
    ).to_dict()
    text = spec["data"][1]["text"]
    assert not any("inf" in cell for row in text for cell in row)
    assert text[0] == ["pad"] * 6 and text[1][0] == "pad" and text[1][-1] == "pad"
    assert text[1][1:5] == ["0", "1", "2", "3"]  # the real input keeps its numbers


def test_titles_sit_over_their_own_maps_and_the_slider_below_the_axes() -> None:
    # A 1-cell output next to a wide input: its title must stay inside the figure.
    result = pool2d(np.ones((1, 6, 6)), (6, 6), (6, 6), (0, 0), "avg")
    spec = sliding_window_figure(
        result.padded[0], result.output[0], result.geometry, (0, 0), output_title="output"
    ).to_dict()
    layout = spec["layout"]
    titles = [a["x"] for a in layout["annotations"]]
    assert titles[0] < 0.5 < titles[1] <= 0.9
    assert layout["xaxis"]["domain"][1] < layout["xaxis2"]["domain"][0]
    # Buttons and slider go below the tick labels (at least 25 px under the plots).
    plot_height = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    assert layout["sliders"][0]["y"] * plot_height <= -25
    assert layout["updatemenus"][0]["y"] * plot_height <= -25


def decoded(value) -> np.ndarray:
    """A plotly array as sent to the browser (numpy arrays travel as base64 typed arrays)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def test_an_input_cell_and_the_outputs_it_feeds_are_outlined_dashed() -> None:
    result = conv2d(np.arange(25.0).reshape(1, 5, 5), np.ones((1, 1, 3, 3)), padding=1, stride=2)
    spec = sliding_window_figure(
        result.padded[0], result.output[0], result.geometry, (0, 0), input_cell=(2, 2)
    ).to_dict()
    assert spec["data"][4]["xaxis"] == "x" and decoded(spec["data"][4]["x"]).size == 7 * 7
    green = [s for s in spec["layout"]["shapes"] if s.get("line", {}).get("color") == FEED_COLOUR]
    cell, fed = green
    assert cell["line"]["dash"] == fed["line"]["dash"] == "dash"  # not by colour alone
    assert (cell["x0"], cell["y0"]) == (1.5, 1.5)
    # Padded (2, 2) is read by outputs (0,0), (0,1), (1,0) and (1,1) with stride 2.
    assert fed["path"].count("M") == 4 and fed["xref"] == "x2"
    # The same outlines in every animation frame, so they stay while Play runs.
    assert all(cell in frame["layout"]["shapes"] for frame in spec["frames"])


def test_a_transposed_input_marks_its_inserted_zeros() -> None:
    from core.convolution.transposed import conv_transpose2d

    result = conv_transpose2d(np.ones((1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2)
    spec = sliding_window_figure(
        result.stretched[0], result.output[0], result.conv.geometry, (0, 0), real=result.real
    ).to_dict()
    text = spec["data"][1]["text"]
    grey = decoded(spec["data"][0]["z"])
    assert int(np.isfinite(grey).sum()) == result.real.size - 4  # all but the 4 input cells
    assert text[2][2] == "1" and text[2][3] == "0"


def test_a_plotly_spec_reaches_the_browser_as_the_figure_it_stands_for() -> None:
    """PlotlySpec skips go.Figure.__init__ (no plotly.py object tree: 10x faster for the
    explorer's frames). It relies on what st.plotly_chart does with a figure: it passes it to
    plotly.tools.return_figure_from_figure_or_data (which, for a BaseFigure, only calls
    to_dict) and then to plotly.io.to_json(validate=False) (which calls to_dict again). This
    pins that path: the JSON Streamlit would send equals the JSON of a real go.Figure built
    from the same dict. A plotly release that reads anything else fails here first."""
    import json

    import plotly.graph_objects as go
    import plotly.io
    import plotly.tools

    result = conv2d(np.arange(25.0).reshape(1, 5, 5), np.ones((1, 1, 3, 3)), padding=1)
    for figure in (
        sliding_window_figure(result.padded[0], result.output[0], result.geometry, (1, 2)),
        kernel_stack_figure(np.ones((2, 3, 3)), "C1", [0, 1]),
    ):
        assert isinstance(figure, go.Figure)
        streamlit_side = plotly.tools.return_figure_from_figure_or_data(figure, True)
        sent = json.loads(plotly.io.to_json(streamlit_side, validate=False))
        real = json.loads(plotly.io.to_json(go.Figure(figure.to_dict()), validate=False))
        assert sent == real


def test_every_number_in_a_cell_keeps_4_5_to_1_on_its_cell() -> None:
    """The explorer's cell numbers (input, output, kernels) against the colour plotly paints
    their cell, on each map's own colour range (WCAG AA for text: 4.5:1)."""
    from plotly.colors import sample_colorscale

    from dashboard.charts import contrast_ratio
    from dashboard.convolution.views import PAD_GREY

    rng = np.random.default_rng(0)
    result = conv2d(
        rng.integers(-9, 10, (1, 6, 6)).astype(float), rng.normal(size=(1, 1, 3, 3)), padding=1
    )
    spec = sliding_window_figure(
        result.padded[0], result.output[0], result.geometry, (0, 0)
    ).to_dict()
    kernels = kernel_stack_figure(rng.normal(size=(2, 3, 3)), "k").to_dict()
    pairs = [(spec["data"][1], spec["data"][5], PAD_GREY), (spec["data"][2], spec["data"][6], None)]
    pairs += [(kernels["data"][c], kernels["data"][2 + c], None) for c in range(2)]
    checked = 0
    for heatmap, numbers, empty in pairs:
        z = (
            decoded(heatmap["z"]).reshape(-1, len(heatmap["text"][0]))
            if isinstance(heatmap["z"], dict)
            else np.asarray(heatmap["z"], dtype=float)
        )
        low, high = heatmap.get("zmin"), heatmap.get("zmax")
        if low is None:
            low, high = np.nanmin(z), np.nanmax(z)
        scale = [[float(at), colour] for at, colour in heatmap["colorscale"]]
        for x, y, colour in zip(
            decoded(numbers["x"]), decoded(numbers["y"]), numbers["textfont"]["color"], strict=True
        ):
            value = z[int(y), int(x)]
            background = (
                empty
                if not np.isfinite(value)
                else sample_colorscale(scale, [float((value - low) / (high - low))])[0]
            )
            assert contrast_ratio(colour, background) >= 4.5, (value, colour, background)
            checked += 1
    assert checked == 8 * 8 + 6 * 6 + 2 * 9
