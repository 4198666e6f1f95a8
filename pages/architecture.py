"""LeNet-5 layer by layer: shapes, parameters, MACs and receptive fields, computed by core and
checked against the PyTorch module; change C1, C3 and the pooling and watch them follow."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException

from core.i18n import _, ltr
from core.model.lenet import (
    ACTIVATIONS,
    LECTURE_ARCHITECTURE,
    PAPER_1998_ARCHITECTURE,
    PAPER_1998_OMISSIONS,
    POOLINGS,
    LeNet5,
    LeNetArchitecture,
    fully_connected_equivalent,
    lenet_layer_table,
    parameter_count,
)
from core.training.config import ARCHITECTURE_FIELDS, TrainConfig
from dashboard.charts import architecture_figure, architecture_text
from dashboard.described import chart
from dashboard.language import with_language
from dashboard.site import TRAINING
from dashboard.training.form import ACTIVATION_LABELS, POOLING_LABELS, config_link, config_query

state = st.session_state
st.title(_("LeNet-5, layer by layer"))
st.markdown(
    _(
        "LeCun et al. (1998): one of the first CNNs used in practice, reading the digits on bank"
        " cheques. The lecture's modern variant takes MNIST's 28×28 digits padded to 32×32 and uses"
        " ReLU and max pooling. Every number below is computed by `core.arithmetic` and checked"
        " against the PyTorch module itself. Change the first layers and see what follows."
    )
)


def reset(architecture: LeNetArchitecture = LECTURE_ARCHITECTURE) -> None:
    for field, value in architecture.__dict__.items():
        state[f"arch_{field}"] = value


def use_1998() -> None:
    reset(PAPER_1998_ARCHITECTURE)


if any(f"arch_{field}" not in state for field in LECTURE_ARCHITECTURE.__dict__):
    reset()

# The controls in a row of three boxes above the results: in a quarter-width column beside
# them the reset button was cut off, and the table had to scroll to its receptive fields.
c1_box, c3_box, pool_box = (column.container(border=True) for column in st.columns(3))
with c1_box:
    st.markdown("**C1**")
    st.slider(_("Kernel size"), 1, 9, key="arch_c1_kernel")
    st.number_input(_("Channels"), 1, 64, key="arch_c1_channels")
    st.number_input(_("Padding"), 0, 6, key="arch_c1_padding")
with c3_box:
    st.markdown("**C3**")
    st.slider(_("Kernel size "), 1, 9, key="arch_c3_kernel")
    st.number_input(_("Channels "), 1, 128, key="arch_c3_channels")
    st.number_input(_("Padding "), 0, 6, key="arch_c3_padding")
with pool_box:
    st.markdown(_("**S2 and S4, activations**"))
    st.slider(_("Pooling window (= stride)"), 1, 4, key="arch_pool")
    st.radio(
        _("Pooling"),
        list(POOLINGS),
        format_func=lambda pooling: _(POOLING_LABELS[pooling]),
        key="arch_pooling",
        horizontal=True,
    )
    st.radio(
        _("Activation"),
        list(ACTIVATIONS),
        format_func=lambda activation: _(ACTIVATION_LABELS[activation]),
        key="arch_activation",
        horizontal=True,
    )

architecture = LeNetArchitecture(**{name: state[f"arch_{name}"] for name in ARCHITECTURE_FIELDS})
buttons = st.container(horizontal=True)
buttons.button(_("Back to the lecture's LeNet-5"), on_click=reset, icon=":material/restart_alt:")
buttons.button(
    _("LeNet-5 as in 1998"),
    on_click=use_1998,
    icon=":material/history_edu:",
    help=_("tanh and average pooling. Still left out of the paper: {omissions}.").format(
        omissions="; ".join(_(omission) for omission in PAPER_1998_OMISSIONS)
    ),
)
try:
    architecture.check()
    variant = TrainConfig(**{n: getattr(architecture, n) for n in ARCHITECTURE_FIELDS})
    try:  # within the app: the same tab; the address it opens is the shareable link
        buttons.page_link(
            str(TRAINING.file),
            label=_("Train this architecture"),
            icon=":material/model_training:",
            query_params=with_language(config_query(variant)),
            help=_("Opens the training page with the form filled in; the link can be shared."),
        )
    except StreamlitAPIException:  # the page run on its own (tests): a plain link
        buttons.markdown(
            _("[Train this architecture]({config_link})").format(config_link=config_link(variant))
        )
except ValueError:
    pass  # an impossible network: the error below says why
view = st.container()

with view:
    try:
        table = lenet_layer_table(architecture)
    except ValueError as error:
        layer = str(error).split(":", 1)[0]
        st.error(
            _(
                "**This network has no output.** {error}. Layer **{layer}** would produce a map "
                "smaller than 1×1: use smaller kernels or pooling in the layers before it, or add "
                "padding."
            ).format(error=ltr(error), layer=layer),
            icon=":material/block:",
        )
        st.stop()

    # Check the table against the module PyTorch builds for the same architecture.
    model = LeNet5(architecture)
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        getattr(model, row.name).register_forward_hook(
            lambda _m, _i, output, name=row.name: shapes.__setitem__(name, tuple(output.shape[1:]))
        )
        for row in table
    ]
    with torch.inference_mode():
        model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    torch_params = {
        row.name: sum(p.numel() for p in getattr(model, row.name).parameters()) for row in table
    }
    agrees = all(
        shapes[row.name] == row.output_shape and torch_params[row.name] == row.parameters
        for row in table
    )

    total_params = sum(row.parameters for row in table)
    total_macs = sum(row.macs for row in table)
    fc_counts = fully_connected_equivalent(table)
    m1, m2, m3 = st.columns(3)
    lecture = architecture == LECTURE_ARCHITECTURE
    m1.metric(
        _("Parameters"),
        f"{total_params:,}",
        delta=None
        if lecture
        else _("{difference} vs LeNet-5").format(difference=f"{total_params - 61_706:+,}"),
    )
    m2.metric(
        _("MACs per image"),
        f"{total_macs:,}",
        delta=None
        if lecture
        else _("{difference} vs LeNet-5").format(difference=f"{total_macs - 416_520:+,}"),
        delta_color="off",
    )
    m3.metric(
        _("If fully connected"),
        f"{sum(fc_counts):,}",
        help=_(
            "Parameters if every learned layer were fully connected with the same input"
            " and output sizes"
        ),
    )
    chart(
        architecture_figure(table),
        summary=architecture_text(table),
        key="diagram",
        config={"displayModeBar": False},
    )
    # A static table: its cells wrap to the page's width, where a data grid scrolled sideways
    # and hid the last columns at 1000 px.
    frame = pd.DataFrame(
        {
            _("layer"): [_(row.name) if row.name == "out" else row.name for row in table],
            _("operation"): [row.operation for row in table],
            _("output"): [ltr("×".join(map(str, row.output_shape))) for row in table],
            _("parameters"): [f"{row.parameters:,}" for row in table],
            _("fully connected instead"): [f"{count:,}" for count in fc_counts],
            _("MACs"): [f"{row.macs:,}" for row in table],
            _("receptive field"): [
                ltr(f"{row.receptive_field}×{row.receptive_field}") for row in table
            ],
        }
    )
    st.table(frame.set_index(_("layer")))
    if agrees:
        st.success(
            _(
                "Checked against PyTorch: the module has {parameter_count:,} parameters and every "
                "layer's output shape (forward hooks) matches the table."
            ).format(parameter_count=parameter_count(model))
        )
    else:
        st.error(_("The table and the PyTorch module disagree: please report this."))
    st.caption(
        _(
            "MACs: multiply-accumulates of one forward pass for one image, biases excluded. "
            "Receptive field: the input pixels (of the 32×32 input) one output cell sees. The "
            "lecture's totals: 61,706 parameters and 416,520 MACs; fully connected layers of the "
            "same sizes would need {sum:,} parameters."
        ).format(sum=sum(fully_connected_equivalent(lenet_layer_table())))
    )
