"""The explorer's numbers written out as text: one output value as a sum of products (per input
channel of its group), a pooling window as max(...) or an average, and the input cell -> output
cells list of the two-way view. Plain functions of core results, so tests read them directly.
"""

from __future__ import annotations

from core.convolution.reference import ConvResult, Geometry, PoolResult


def output_name(channel: int, i: int, j: int, channels: int, one_d: bool) -> str:
    return "y" + (f"[{channel}," if channels > 1 else "[") + (f"{j}]" if one_d else f"{i},{j}]")


def conv_sum(
    result: ConvResult, channel: int, i: int, j: int, name: str, bias: bool, relu: bool
) -> str:
    """y[...] = Σ products per input channel (+ bias) (then ReLU), every number shown."""
    lines = []
    channels = result.input_channels(channel)
    partials = result.partial[channel, :, i, j]
    terms = result.terms(channel, i, j)
    for local, c in enumerate(channels):
        products = [f"{v:g}·{w:g}" for ch, _, _, _, _, v, w in terms if ch == c]
        label = f"channel {c}: " if len(channels) > 1 else ""
        lines.append(f"{label}{' + '.join(products)} = {partials[local]:g}")
    total = result.pre_activation[channel, i, j]
    bias_text = f" + b ({result.bias[channel]:g})" if bias else ""
    if len(channels) > 1:
        lines.append(
            f"{name} = " + " + ".join(f"{p:g}" for p in partials) + f"{bias_text} = {total:g}"
        )
    elif bias:
        lines.append(f"{name} = {partials[0]:g}{bias_text} = {total:g}")
    else:
        lines[-1] = f"{name} = " + lines[-1]
    if relu:
        lines.append(f"ReLU: max({total:g}, 0) = {max(total, 0.0):g}")
    return "\n".join(lines)


def pool_sum(result: PoolResult, channel: int, i: int, j: int, name: str) -> str:
    terms = result.terms(channel, i, j)
    geometry = result.geometry
    values = ", ".join(
        "pad" if geometry.is_padding(r, s) and result.mode == "max" else f"{v:g}"
        for _, _, r, s, v in terms
    )
    value = result.output[channel, i, j]
    if result.mode == "max":
        return f"{name} = max({values}) = {value:g}"
    return f"{name} = ({values.replace(', ', ' + ')}) / {len(terms)} = {value:.4g}"


def feeds_text(geometry: Geometry, cell: tuple[int, int], label: str, one_d: bool) -> str:
    """'<label> feeds N output cells: (i, j), ...' for padded input cell `cell`."""
    fed = sorted({(i, j) for i, j, _, _ in geometry.feeds(*cell)})
    if not fed:
        return f"{label} feeds no output cell: no window reaches it."
    cells = ", ".join(f"{j}" if one_d else f"({i},{j})" for i, j in fed)
    noun = "position" if one_d else "cell"
    return f"{label} feeds {len(fed)} output {noun}{'' if len(fed) == 1 else 's'}: {cells}."


def advice_for(message: str) -> str:
    """How to fix the settings behind one of core's ValueError messages."""
    if "spans" in message:
        advice = "make the kernel or the dilation smaller, add padding, or enlarge the input"
    elif "half the kernel" in message:
        advice = "lower the padding to at most half the pooling window"
    elif "3x3" in message:
        advice = "set the kernel size to 3 × 3, or choose another kernel"
    elif "output padding" in message:
        advice = (
            "lower the output padding below the stride (or the dilation). Output padding"
            " only picks one of the input sizes that a stride-s convolution maps to the same"
            " output size, so it is less than the stride: PyTorch refuses the rest as well"
        )
    elif "too small" in message:
        advice = "lower the padding, or enlarge the input, the kernel or the stride"
    elif "groups" in message:
        advice = "make the groups divide both channel counts"
    else:
        advice = "change the control named in the message"
    return advice
