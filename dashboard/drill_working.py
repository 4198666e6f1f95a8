"""How a drill question's numbers are worked out, formula by formula: the drill's reveal and
the class quiz's (pages/drill.py, pages/quiz.py)."""

from __future__ import annotations

import streamlit as st

from core.convolution.drill import Question
from core.i18n import _, ltr


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
    biases, inputs, outputs = _("biases"), _("input positions"), _("output positions")
    st.markdown(
        _("- **Parameters** = {formula}").format(
            formula=ltr(
                f"C_in/g · C_out · K + {biases} = {per_in} · {question.out_channels} · "
                f"{kernel}{bias} = **{question.params:,}**"
            )
        )
    )
    if question.transposed:
        positions = "·".join(map(str, question.size))
        per_out = (
            f"{question.out_channels}/{question.groups}"
            if question.groups > 1
            else str(question.out_channels)
        )
        formula = ltr(
            f"C_in · {inputs} · C_out/g · K = {question.in_channels} · {positions}"
            f" · {per_out} · {kernel} = **{question.macs:,}**"
        )
        st.markdown(
            _(
                "- **MACs** = {formula} (each input value is spread over the output by every"
                " kernel of its group)"
            ).format(formula=formula)
        )
    else:
        positions = "·".join(map(str, question.out_size))
        formula = ltr(
            f"C_out · {outputs} · C_in/g · K = {question.out_channels} · "
            f"{positions} · {per_in} · {kernel} = **{question.macs:,}**"
        )
        st.markdown(_("- **MACs** = {formula}").format(formula=formula))
        spans = " × ".join(
            f"{d}·({k}−1)+1" for k, d in zip(question.kernel, question.dilation, strict=True)
        )
        per_axis = _("per axis")
        formula = ltr(f"d·(k−1)+1 {per_axis} = {spans} = **{question.answer('field')}**")
        st.markdown(_("- **Receptive field** = {formula}").format(formula=formula))
