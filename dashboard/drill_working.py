"""How a drill question's numbers are worked out, formula by formula: the drill's reveal and
the class quiz's (pages/drill.py, pages/quiz.py)."""

from __future__ import annotations

import streamlit as st

from core.convolution.drill import Question


def show_working(question: Question) -> None:
    """The output-size formula per axis, then parameters, MACs and the receptive field."""
    for axis, (n, k, p, s, d) in enumerate(zip(*question._axes(), strict=True)):
        name = ("H", "W")[axis] if question.dims == 2 else "L"
        out = question.out_size[axis]
        if question.transposed:
            a = question.output_padding[axis]
            st.latex(
                rf"{name}_{{out}} = ({n}-1)\cdot{s} - 2\cdot{p} + {d}\cdot({k}-1) + {a} + 1"
                rf" = {out}"
            )
        else:
            st.latex(
                rf"{name}_{{out}} = \left\lfloor\frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1)"
                rf" - 1}}{{{s}}}\right\rfloor + 1 = {out}"
            )
    kernel = "·".join(map(str, question.kernel))
    per_in = (
        f"{question.in_channels}/{question.groups}"
        if question.groups > 1
        else str(question.in_channels)
    )
    bias = f" + {question.out_channels}" if question.bias else ""
    st.markdown(
        f"- **Parameters** = C_in/g · C_out · K + biases = {per_in} · {question.out_channels}"
        f" · {kernel}{bias} = **{question.params:,}**"
    )
    if question.transposed:
        positions = "·".join(map(str, question.size))
        per_out = (
            f"{question.out_channels}/{question.groups}"
            if question.groups > 1
            else str(question.out_channels)
        )
        st.markdown(
            f"- **MACs** = C_in · input positions · C_out/g · K = {question.in_channels} ·"
            f" {positions} · {per_out} · {kernel} = **{question.macs:,}** (each input value"
            " is spread over the output by every kernel of its group)"
        )
    else:
        positions = "·".join(map(str, question.out_size))
        st.markdown(
            f"- **MACs** = C_out · output positions · C_in/g · K = {question.out_channels} ·"
            f" {positions} · {per_in} · {kernel} = **{question.macs:,}**"
        )
        spans = " × ".join(
            f"{d}·({k}−1)+1" for k, d in zip(question.kernel, question.dilation, strict=True)
        )
        st.markdown(
            f"- **Receptive field** = d·(k−1)+1 per axis = {spans} = **{question.answer('field')}**"
        )
