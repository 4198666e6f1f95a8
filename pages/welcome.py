"""Welcome: what a CNN is and why (LESSON.md sections 1-3), a live FC-vs-conv parameter count,
real MNIST digits, and a map of the pages."""

import streamlit as st

from core.convolution.arithmetic import conv_versus_fc
from core.i18n import _, ltr
from dashboard.charts import parameter_comparison_figure, parameter_comparison_text
from dashboard.described import chart
from dashboard.site import PAGES, WELCOME
from dashboard.widgets import digit_strip, mnist_status_panel, mnist_test_digits

st.title(_("Convolutional neural networks, explained by doing"))
st.markdown(
    _(
        "This app explains one lecture on **convolutional neural networks** (CNNs): what a "
        "convolution computes, what kernel size, padding, stride and dilation do to shapes and "
        "parameter counts, and how **LeNet-5** learns to read handwritten digits from **MNIST**. "
        "Every number on these pages is computed by the same `core` library you can call from "
        "Python, and is checked against PyTorch."
    )
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(_("Why not a fully connected layer?"))
    st.markdown(
        _(
            "A **fully connected** (FC) layer connects every output to every input, each with its "
            "own weight: it needs $N_{in} \\times N_{out}$ weights and ignores the structure of "
            "its input. But images, audio and time series *have* structure: what matters are "
            "**local patterns**, and the same pattern can appear **anywhere**. A convolutional "
            "layer builds both facts in:"
        )
    )
    st.markdown(
        _(
            "1. **Local connectivity**: each output looks only at a small window of neighbouring"
            " inputs.\n"
            "2. **Weight sharing**: the same weights (the *kernel*) are used at every position."
        )
    )
    st.markdown(
        _(
            'In 1D, with a kernel $w$ of size $K$, deep learning\'s "convolution" is really a'
            " cross-correlation:"
        )
    )
    st.latex(r"y[n] = \sum_{m=0}^{K-1} x[n+m]\, w[m]")
    st.markdown(
        _(
            "That is $K$ weights plus one bias, however long the input is. True (signal-processing)"
            " convolution flips the kernel, $y[n] = \\sum_m x[n-m]\\,w[m]$. Add a bias and a"
            " non-linearity, usually ReLU $\\varphi(x) = \\max(x, 0)$, and the layer computes"
            " $\\varphi(w^\\top z + b)$ at every position."
        )
    )
    st.subheader(_("Channels"))
    st.markdown(
        _(
            "With $C_{in}$ input channels each kernel spans all of them ($C_{in} \\times K$ "
            "weights); the per-channel results are summed and one bias is added. $C_{out}$ "
            "independent kernels give $C_{out}$ output channels. So a conv layer has this many "
            "parameters:"
        )
    )
    st.latex(r"C_{in} \cdot C_{out} \cdot K_h K_w + C_{out}")

with right:
    st.subheader(_("Count them yourself"))
    st.caption(
        _(
            "A 2D conv layer (stride 1) and the fully connected layer with the same input and "
            "output sizes. Change any number."
        )
    )
    a, b = st.columns(2)
    height = a.number_input(_("Input height"), 1, 512, 28, key="height")
    width = b.number_input(_("Input width"), 1, 512, 28, key="width")
    in_channels = a.number_input(_("Input channels"), 1, 512, 1, key="in_channels")
    out_channels = b.number_input(_("Output channels"), 1, 512, 6, key="out_channels")
    kernel = a.number_input(_("Kernel size"), 1, 31, 5, key="kernel")
    padding = b.number_input(_("Padding"), 0, 31, 0, key="padding")

    try:
        layers = conv_versus_fc(height, width, in_channels, out_channels, kernel, padding)
    except ValueError as error:
        st.error(
            _("No output: {error}. Make the kernel smaller or add padding.").format(error=error),
            icon=":material/block:",
        )
    else:
        c_out, h_out, w_out = layers.out_shape
        # A row that wraps: side by side where the column is wide, one above the other where
        # it is not (a fixed pair of columns cut "2,712,960" to "2,7..." at 1000 px).
        metrics = st.container(horizontal=True, gap="medium")
        metrics.metric(
            _("Fully connected"),
            f"{layers.fc_params:,}",
            help=_("N_in x N_out weights + N_out biases"),
            width="content",
        )
        metrics.metric(
            _("Convolutional"),
            f"{layers.conv_params:,}",
            help=_("C_in x C_out x K x K + C_out"),
            width="content",
        )
        chart(
            parameter_comparison_figure(layers.fc_params, layers.conv_params),
            summary=parameter_comparison_text(layers.fc_params, layers.conv_params),
            key="welcome_parameters",
            config={"displayModeBar": False},
        )
        st.markdown(
            _(
                "Input {in_channels}×{height}×{width} → output {c_out}×{h_out}×{w_out}.  \n"
                "FC: {in_features:,} × {out_features:,} + {out_features:,} = **{fc_params:,}**  \n"
                "Conv: {in_channels} × {out_channels} × {kernel} × {kernel} + {out_channels} = "
                "**{conv_params:,}**  \n"
                "The fully connected layer needs **{ratio:,.0f}×** as many parameters."
            ).format(
                in_channels=in_channels,
                height=height,
                width=width,
                c_out=c_out,
                h_out=h_out,
                w_out=w_out,
                in_features=layers.in_features,
                out_features=layers.out_features,
                fc_params=layers.fc_params,
                out_channels=out_channels,
                kernel=kernel,
                conv_params=layers.conv_params,
                ratio=layers.ratio,
            )
        )

st.divider()
st.subheader(_("The data: MNIST"))
st.markdown(
    _(
        "70,000 grayscale 28×28 handwritten digits (60,000 for training, 10,000 for test), pixels"
        " scaled to [0, 1], labels 0-9. LeNet-5 learns to read them; the lecture's network gets"
        " 0.91% of the test digits wrong."
    )
)
mnist_status_panel()
digits = mnist_test_digits()
if digits is not None:
    images, labels = digits
    caption = _("The first 16 test digits: {labels}").format(
        labels=ltr(" ".join(str(label) for label in labels[:16]))
    )
    st.image(digit_strip(images[:16]), caption=caption, alt=caption)

st.divider()
st.subheader(_("Map of the app"))
others = [page for page in PAGES if page is not WELCOME]
for page in others:
    st.page_link(str(page.file), label=_(page.title), icon=page.icon)
    st.caption(_(page.summary))
if not others:
    st.markdown(
        _(
            "This is the first page. The convolution explorer, LeNet-5 layer by layer, training "
            "from the browser, error analysis and a look inside the trained network join the "
            "navigation as they are finished."
        )
    )
st.markdown(
    _(
        "From the command line: `python -m core.model.mnist verify` checks the MNIST files against"
        " their"
        " published checksums, and `python -m core.train` trains LeNet-5 with the lecture's recipe"
        " (`--help` for the options)."
    )
)
