"""The code twin: for a few thousand random configurations of every kind (1D/2D convolution
with groups, flip, bias and ReLU; transposed convolution; max and average pooling) torch's own
module, built from the configuration, agrees with the page's numpy reference; the generated
script, run in a subprocess, prints exactly what the page says it prints."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.convolution.code_twin import LayerSpec, agreement, printout, python_source, torch_output
from core.convolution.reference import conv2d, pool2d
from core.convolution.transposed import conv_transpose2d

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

axis = st.fixed_dictionaries(
    {
        "size": st.integers(1, 7),
        "kernel": st.integers(1, 4),
        "padding": st.integers(0, 3),
        "stride": st.integers(1, 3),
        "dilation": st.integers(1, 3),
        "output_padding": st.integers(0, 2),
    }
)


def page_result(spec: LayerSpec) -> np.ndarray:
    """What the explorer computes for the spec (its own reference implementation)."""
    if spec.op == "conv":
        return conv2d(
            spec.x, spec.weight, spec.bias, spec.padding, spec.stride, spec.dilation,
            spec.flip, spec.relu, spec.groups,
        ).output  # fmt: skip
    if spec.op == "transposed":
        out = conv_transpose2d(
            spec.x, spec.weight, spec.bias, spec.stride, spec.padding, spec.output_padding,
            spec.dilation, spec.groups,
        ).output  # fmt: skip
        return np.maximum(out, 0) if spec.relu else out
    return pool2d(spec.x, spec.kernel, spec.stride, spec.padding, spec.op, spec.dilation).output


def make_spec(op, dims, h, w, groups, per_in, per_out, bias, flip, relu, seed) -> LayerSpec:
    rng = np.random.default_rng(seed)
    if dims == 1:
        h = dict(size=1, kernel=1, padding=0, stride=1, dilation=1, output_padding=0)
    pair = lambda key: (h[key], w[key])  # noqa: E731
    if op in ("max", "avg"):
        groups, per_out = 1, per_in
    c_in, c_out = groups * per_in, groups * per_out
    kernel = pair("kernel")
    x = rng.integers(-5, 6, size=(c_in, h["size"], w["size"])).astype(float)
    weight = None
    if op == "conv":
        weight = rng.integers(-3, 4, size=(c_out, per_in, *kernel)).astype(float)
    elif op == "transposed":
        weight = rng.integers(-3, 4, size=(c_in, per_out, *kernel)).astype(float)
    return LayerSpec(
        op=op,
        dims=dims,
        x=x,
        kernel=kernel,
        padding=pair("padding"),
        stride=pair("stride"),
        dilation=pair("dilation") if op != "avg" else (1, 1),
        weight=weight,
        bias=rng.integers(-2, 3, size=c_out).astype(float) if bias and weight is not None else None,
        groups=groups,
        output_padding=pair("output_padding") if op == "transposed" else (0, 0),
        flip=flip and op == "conv",
        relu=relu and op in ("conv", "transposed"),
    )


@SETTINGS
@given(
    op=st.sampled_from(["conv", "transposed", "max", "avg"]),
    dims=st.sampled_from([1, 2]),
    h=axis,
    w=axis,
    groups=st.integers(1, 3),
    per_in=st.integers(1, 2),
    per_out=st.integers(1, 2),
    bias=st.booleans(),
    flip=st.booleans(),
    relu=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_torch_agrees_with_the_page(
    op, dims, h, w, groups, per_in, per_out, bias, flip, relu, seed
):
    spec = make_spec(op, dims, h, w, groups, per_in, per_out, bias, flip, relu, seed)
    try:
        page = page_result(spec)
    except ValueError:
        page = None
    try:
        torch_output(spec)
        accepted = True
    except RuntimeError:
        accepted = False
    assert accepted == (page is not None), spec  # the page refuses exactly what torch refuses
    if page is None:
        return
    o, i, j = (n - 1 for n in page.shape)
    spec = LayerSpec(**{**spec.__dict__, "cell": (o, i, j)})
    result = agreement(spec, page)
    assert result.ok, result
    assert result.torch_shape == (1, *(page.shape if dims == 2 else (page.shape[0], page.shape[2])))
    source = python_source(spec)
    ast.parse(source)  # always a valid program
    assert f"nn.{spec.layer_name}(" in source


def run_script(source: str, tmp_path) -> str:
    path = tmp_path / "twin.py"
    path.write_text(source)
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_downloaded_scripts_print_what_the_page_shows(tmp_path) -> None:
    """Three scripts, one per layer family, each run standalone by the project's Python."""
    specs = [
        make_spec("conv", 2, dict(size=6, kernel=3, padding=1, stride=2, dilation=1,
                  output_padding=0), dict(size=7, kernel=2, padding=0, stride=1, dilation=2,
                  output_padding=0), 2, 1, 2, True, True, True, 7),
        make_spec("transposed", 1, None, dict(size=4, kernel=3, padding=1, stride=2,
                  dilation=1, output_padding=1), 1, 2, 1, True, False, False, 3),
        make_spec("max", 2, dict(size=5, kernel=2, padding=1, stride=2, dilation=1,
                  output_padding=0), dict(size=5, kernel=3, padding=1, stride=2, dilation=2,
                  output_padding=0), 1, 2, 2, False, False, False, 5),
    ]  # fmt: skip
    # One subprocess runs all three (each starting torch alone took ~3 s here).
    sources, expected = [], []
    for spec in specs:
        page = page_result(spec)
        spec = LayerSpec(**{**spec.__dict__, "cell": (page.shape[0] - 1, page.shape[1] - 1, 1)})
        torch_shape = (1, page.shape[0], page.shape[2]) if spec.dims == 1 else (1, *page.shape)
        expected.append(printout(torch_shape, spec.cell_index, page[spec.cell]))
        sources.append(python_source(spec))
    for index, source in enumerate(sources):
        (tmp_path / f"twin_{index}.py").write_text(source)
    runner = "import runpy, sys\nfor name in sys.argv[1:]:\n    runpy.run_path(name)\n"
    done = subprocess.run(
        [sys.executable, "-c", runner, *(f"twin_{i}.py" for i in range(len(sources)))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "\n".join(expected)
    # And one of them exactly as a user runs it: `python file.py`.
    assert run_script(sources[0], tmp_path) == expected[0]


def test_a_disagreement_is_reported_not_hidden() -> None:
    spec = make_spec("conv", 2, dict(size=4, kernel=3, padding=0, stride=1, dilation=1,
                     output_padding=0), dict(size=4, kernel=3, padding=0, stride=1, dilation=1,
                     output_padding=0), 1, 1, 1, False, False, False, 1)  # fmt: skip
    page = page_result(spec).copy()
    page[0, 0, 0] += 0.5
    result = agreement(spec, page)
    assert result.shape_equal and not result.values_close and not result.cell_equal
    assert result.max_difference == 0.5 and not result.ok
    assert not agreement(spec, page[:, :1]).shape_equal
