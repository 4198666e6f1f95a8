"""The explorer's numbers written out as text: one output value as a sum of products (per input
channel of its group), a pooling window as max(...) or an average, and the input cell -> output
cells list of the two-way view. Plain functions of core results, so tests read them directly.
"""

from __future__ import annotations

import re

from core.convolution.reference import ConvResult, Geometry, PoolResult
from core.i18n import DEFAULT, N_, _, language, ltr


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
        label = _("channel {channel}: ").format(channel=c) if len(channels) > 1 else ""
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
    fed = sorted({(i, j) for i, j, _row, _col in geometry.feeds(*cell)})
    if not fed:
        return _("{label} feeds no output cell: no window reaches it.").format(label=label)
    cells = ltr(", ".join(f"{j}" if one_d else f"({i},{j})" for i, j in fed))
    if len(fed) == 1:
        text = (
            _("{label} feeds 1 output position: {cells}.")
            if one_d
            else _("{label} feeds 1 output cell: {cells}.")
        )
    else:
        text = (
            _("{label} feeds {count} output positions: {cells}.")
            if one_d
            else _("{label} feeds {count} output cells: {cells}.")
        )
    return text.format(label=label, count=len(fed), cells=cells)


def advice_for(message: str) -> str:
    """How to fix the settings behind one of core's ValueError messages."""
    if "spans" in message:
        advice = _("make the kernel or the dilation smaller, add padding, or enlarge the input")
    elif "half the kernel" in message:
        advice = _("lower the padding to at most half the pooling window")
    elif "3x3" in message:
        advice = _("set the kernel size to 3 × 3, or choose another kernel")
    elif "output padding" in message:
        advice = _(
            "lower the output padding below the stride (or the dilation). Output padding"
            " only picks one of the input sizes that a stride-s convolution maps to the same"
            " output size, so it is less than the stride: PyTorch refuses the rest as well"
        )
    elif "too small" in message:
        advice = _("lower the padding, or enlarge the input, the kernel or the stride")
    elif "groups" in message:
        advice = _("make the groups divide both channel counts")
    else:
        advice = _("change the control named in the message")
    return advice


# Core's ValueError messages (English, as core's tests and the CLI read them) and the same
# message in the reader's language; a group whose value holds a space is a sum (left to right).
_SPANS = r"spans (?P<span>\d+) cells but the padded input has (?P<padded>\d+)"
_SUM = r" \((?P<sum>\d+ \+ 2 x \d+) padding\)"
_ERRORS = (
    (
        rf"dilated kernel {_SPANS}{_SUM}",
        N_("dilated kernel spans {span} cells but the padded input has {padded} ({sum} padding)"),
    ),
    (
        rf"pooling window {_SPANS}{_SUM}: the output would be empty",
        N_(
            "pooling window spans {span} cells but the padded input has {padded} ({sum} padding):"
            " the output would be empty"
        ),
    ),
    (
        r"pooling padding must be at most half the kernel size \((?P<sum>\d+ // 2 = \d+)\),"
        r" got (?P<padding>\d+)",
        N_("pooling padding must be at most half the kernel size ({sum}), got {padding}"),
    ),
    (
        r"groups \((?P<groups>\d+)\) must divide the input channels \((?P<c_in>\d+)\) and the"
        r" output channels \((?P<c_out>\d+)\)",
        N_(
            "groups ({groups}) must divide the input channels ({c_in}) and the output channels"
            " ({c_out})"
        ),
    ),
    (
        r"(?P<name>in_channels|out_channels) \((?P<channels>\d+)\) must be divisible by groups"
        r" \((?P<groups>\d+)\)",
        N_("{name} ({channels}) must be divisible by groups ({groups})"),
    ),
    (
        r"the (?P<kernel>.+) kernel is 3x3: set the kernel size to 3 x 3",
        N_("the {kernel} kernel is 3x3: set the kernel size to 3 x 3"),
    ),
    (
        r"average pooling has no dilation in PyTorch: set dilation to 1",
        N_("average pooling has no dilation in PyTorch: set dilation to 1"),
    ),
    (
        r"output padding must be smaller than either stride or dilation, got output padding"
        r" (?P<output_padding>\d+) with stride (?P<stride>\d+) and dilation (?P<dilation>\d+)",
        N_(
            "output padding must be smaller than either stride or dilation, got output padding"
            " {output_padding} with stride {stride} and dilation {dilation}"
        ),
    ),
    (r"output size is too small: (?P<sum>.+)", N_("output size is too small: {sum}")),
)


def error_text(message: str) -> str:
    """One of core's ValueError messages in the current language (English: as it is)."""
    if language() == DEFAULT:
        return message
    for pattern, text in _ERRORS:
        match = re.fullmatch(pattern, message)
        if match:
            parts = {
                key: _(part) if key == "kernel" else ltr(part) if " " in part else part
                for key, part in match.groupdict().items()
            }
            return _(text).format(**parts)
    return message
