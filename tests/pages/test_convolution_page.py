"""The convolution explorer through AppTest: every control moves the numbers it should, each
lecture case shows its output size, a bad configuration is explained and raises nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core.convolution.arithmetic import (
    conv_output_size,
    conv_param_count,
    conv_transpose_macs,
    conv_transpose_output_size,
)
from dashboard.convolution.state import OPERATIONS
from dashboard.convolution.views import LECTURE_CASES
from dashboard.site import CONVOLUTION


def page(**query: str) -> AppTest:
    app = AppTest.from_file(str(CONVOLUTION.file), default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_defaults() -> None:
    app = page()
    assert metric(app, "Output shape") == "1×3×3"
    assert metric(app, "Parameters") == "9"
    assert metric(app, "FC parameters") == f"{25 * 9:,}"
    assert metric(app, "MACs") == "81"
    assert metric(app, "Receptive field") == "3×3"


@pytest.mark.parametrize("index,name", list(enumerate(LECTURE_CASES)))
def test_each_lecture_case_shows_its_output(index: int, name: str) -> None:
    app = page()
    app.button(key=f"case_{index}").click().run()
    assert not app.exception
    out = LECTURE_CASES[name]["out"]
    assert metric(app, "Output shape") == f"1×{out}×{out}"
    assert any(f"expected output {out}×{out} ✓" in s.value for s in app.success)


@pytest.mark.parametrize(
    "key,value,shape,params",
    [
        ("h", 7, "1×5×3", "9"),
        ("w", 9, "1×3×7", "9"),
        ("kh", 5, "1×1×3", "15"),
        ("kw", 1, "1×3×5", "3"),
        ("ph", 2, "1×7×3", "9"),
        ("pw", 1, "1×3×5", "9"),
        ("sh", 2, "1×2×3", "9"),
        ("dw", 2, "1×3×1", "9"),
        ("cin", 3, "1×3×3", "27"),
        ("cout", 4, "4×3×3", "36"),
    ],
)
def test_each_control_moves_the_numbers(key: str, value: int, shape: str, params: str) -> None:
    app = page()
    widget = app.slider(key=key) if key in ("kh", "kw") else app.number_input(key=key)
    widget.set_value(value).run()
    assert not app.exception
    assert metric(app, "Output shape") == shape, key
    assert metric(app, "Parameters") == params, key


def test_bias_relu_flip_and_the_written_sum() -> None:
    app = page()
    app.toggle(key="bias").set_value(True).run()
    assert metric(app, "Parameters") == str(conv_param_count(1, 1, (3, 3), bias=True))
    app.toggle(key="relu").set_value(True).run()
    app.toggle(key="flip").set_value(True).run()
    assert not app.exception
    code = app.code[0].value
    assert "y[0,0] = " in code and "+ b (" in code and "ReLU: max(" in code
    # The written-out sum ends in the value the output map shows (before ReLU: pre-activation).
    assert code.splitlines()[-1].endswith("= 0") or code.splitlines()[-1].split("= ")[-1]


def test_padding_presets() -> None:
    app = page()
    app.slider(key="kh").set_value(5).run()
    app.slider(key="kw").set_value(5).run()
    app.segmented_control(key="pad_preset").set_value("same").run()
    assert metric(app, "Output shape") == "1×5×5"
    app.segmented_control(key="pad_preset").set_value("full").run()
    assert (
        metric(app, "Output shape") == f"1×{conv_output_size(5, 5, 4)}×{conv_output_size(5, 5, 4)}"
    )


def test_pooling_and_1d() -> None:
    app = page()
    app.selectbox(key="op").set_value("max pooling").run()
    assert metric(app, "Parameters") == "0"
    # Choosing pooling sets the stride to the window, PyTorch's default: 5x5, 3x3 -> 1x1.
    assert metric(app, "Output shape") == "1×1×1"
    app.radio(key="mode").set_value("1D").run()
    assert not app.exception
    assert metric(app, "Output shape").startswith("1×")


def test_impossible_settings_are_explained_never_raised() -> None:
    app = page()
    app.slider(key="kh").set_value(7).run()
    assert not app.exception
    assert "dilated kernel spans 7 cells but the padded input has 5" in app.error[0].value
    assert "make the kernel or the dilation smaller" in app.error[0].value
    app.number_input(key="ph").set_value(1).run()
    assert not app.error
    app.selectbox(key="op").set_value("average pooling").run()
    app.number_input(key="pw").set_value(3).run()
    assert not app.exception
    assert "at most half" in app.error[0].value


def test_named_kernel_needs_three_by_three() -> None:
    app = page()
    app.selectbox(key="kernel").set_value("Sobel x").run()
    assert not app.error
    app.slider(key="kw").set_value(5).run()
    assert "set the kernel size to 3 × 3" in app.error[0].value


def test_the_url_reproduces_a_configuration_and_bad_values_are_ignored() -> None:
    app = page(h="7", w="7", kh="3", kw="3", dh="2", dw="2", op="convolution")
    assert metric(app, "Output shape") == "1×3×3"
    assert app.query_params["dh"] == ["2"] or app.query_params["dh"] == "2"
    bad = page(h="500", op="teleport")
    assert any("Ignored part of the link" in w.value for w in bad.warning)
    assert metric(bad, "Output shape") == "1×3×3"


def test_a_bad_flag_in_the_link_is_ignored_with_a_warning() -> None:
    app = page(bias="maybe", relu="1")
    warnings = [w.value for w in app.warning]
    assert any("Ignored part of the link" in w and "bias" in w and "maybe" in w for w in warnings)
    assert app.toggle(key="bias").value is False  # the default, not a guess
    assert app.toggle(key="relu").value is True  # the good flags of the same link still apply
    assert metric(app, "Parameters") == "9"


def test_transposed_convolution_formula_metrics_and_torch_agreement() -> None:
    app = page(op="transposed convolution", sh="2", sw="2", ph="1", pw="1", oph="1", opw="0")
    size_h = conv_transpose_output_size(5, 3, 1, 2, 1, 1)
    size_w = conv_transpose_output_size(5, 3, 1, 2, 1, 0)
    assert metric(app, "Output shape") == f"1×{size_h}×{size_w}"
    assert metric(app, "Stretched input") == "12×11"  # (5-1)·2+1 = 9, + 2·(2-1) + output padding
    assert metric(app, "MACs") == str(conv_transpose_macs(1, 1, (3, 3), (5, 5)))
    assert any(f"= {size_h}" in latex.value for latex in app.latex)
    assert any("agrees with the page" in s.value for s in app.success)


def test_output_padding_torch_rejects_is_explained_not_crashed() -> None:
    app = page(op="transposed convolution", opw="1")  # stride 1, dilation 1
    assert not app.exception
    error = app.error[0].value
    assert "output padding must be smaller than either stride or dilation" in error
    assert "PyTorch refuses the rest as well" in error


def test_groups_split_the_parameters_and_bad_groups_are_explained() -> None:
    app = page(cin="4", cout="6", groups="2", bias="1")
    assert metric(app, "Parameters") == str(conv_param_count(4, 6, (3, 3), True, groups=2))
    assert any("2 groups" in m.value for m in app.markdown)
    bad = page(cin="3", cout="6", groups="2")
    assert not bad.exception
    assert "groups (2) must divide the input channels (3)" in bad.error[0].value


def test_an_input_cell_lists_the_output_cells_it_feeds() -> None:
    app = page(sh="1", sw="1")
    app.session_state["in_cell"] = (2, 2)  # the centre of the 5×5 input: all nine outputs
    app.run()
    assert "Input cell x[2,2] feeds 9 output cells" in app.info[0].value
    app.session_state["in_cell"] = (0, 0)
    app.run()
    assert "feeds 1 output cell: (0,0)." in app.info[0].value


def test_code_twin_script_prints_what_the_page_shows(tmp_path) -> None:
    """The page's script (the text behind Copy and Download) run with `python file.py`."""
    app = page(cin="2", cout="2", groups="2", bias="1", relu="1", flip="1", ph="1", sw="2")
    app.number_input(key="sel_o").set_value(1).run()
    source = next(c.value for c in app.code if c.value.startswith('"""'))
    expected = next(c.value for c in app.code if c.value.startswith("shape:"))
    assert expected.startswith(f"shape: (1, {metric(app, 'Output shape').replace('×', ', ')})")
    assert "y[0, 1, 0, 0] =" in expected  # the selected cell: output channel 1
    path = tmp_path / "explorer_conv2d.py"
    path.write_text(source)
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=st.fixed_dictionaries(
        {
            "mode": st.sampled_from(["1D", "2D"]),
            "op": st.sampled_from(OPERATIONS),
            "h": st.integers(1, 9).map(str),
            "w": st.integers(1, 9).map(str),
            "cin": st.integers(1, 4).map(str),
            "cout": st.integers(1, 4).map(str),
            "groups": st.integers(1, 4).map(str),
            "kh": st.integers(1, 5).map(str),
            "kw": st.integers(1, 5).map(str),
            "ph": st.integers(0, 3).map(str),
            "pw": st.integers(0, 3).map(str),
            "sh": st.integers(1, 3).map(str),
            "sw": st.integers(1, 3).map(str),
            "dh": st.integers(1, 3).map(str),
            "dw": st.integers(1, 3).map(str),
            "oph": st.integers(0, 2).map(str),
            "opw": st.integers(0, 2).map(str),
            "bias": st.sampled_from(["0", "1"]),
            "flip": st.sampled_from(["0", "1"]),
            "relu": st.sampled_from(["0", "1"]),
            "kernel": st.sampled_from(["random integers", "identity", "Sobel x", "difference"]),
        }
    )
)
def test_any_link_shows_an_output_agreeing_with_torch_or_an_explanation(query) -> None:
    """Random links: never an exception box; either torch agrees with what the page shows, or
    the page says why there is no output."""
    app = page(**query)
    agrees = any("agrees with the page" in s.value for s in app.success)
    explained = any("No output with these settings" in e.value for e in app.error)
    assert agrees != explained, (query, [e.value for e in app.error])


def test_next_and_previous_cell_step_the_window_and_its_text_follows() -> None:
    """The window steps from the keyboard's buttons (not only Play or a click), in reading
    order, wrapping round; the figure's text equivalent names the cell the sum writes out."""
    app = page()  # 5×5 input, 3×3 kernel: a 3×3 output

    def selected() -> str:
        return app.code[0].value.split(" = ")[0]

    assert selected() == "y[0,0]"
    app.button(key="cell_on").click().run()
    assert selected() == "y[0,1]"
    for _step in range(2):
        app.button(key="cell_on").click().run()
    assert selected() == "y[1,0]"  # the end of a row goes on to the next
    for _step in range(4):
        app.button(key="cell_back").click().run()
    assert selected() == "y[2,2]"  # back from the first cell wraps round to the last
    summary = next(c.value for c in app.caption if c.value.startswith("Input 5×5"))
    value = app.code[0].value.splitlines()[-1].split("= ")[-1].strip()
    assert (
        f"The selected output y[2,2] = {value} reads input rows 2 to 4, columns 2 to 4." in summary
    )
    assert not app.exception
