"""Predict, then reveal: convolution-arithmetic questions and a grader that names the mistake.

A question is a conv (or transposed conv) layer; the student gives its output shape, parameter
count, MACs and (for a plain conv) receptive field. Every question has a short code, so a link
opens it again: `case-1` ... `case-8` are the lecture's eight cases, `<level>-<seed>` a random
configuration of level 1 (1D), 2 (2D with padding and stride) or 3 (dilation, channels,
groups, transposed). The grader compares a wrong answer with what the usual wrong formulas give
(no floor, dilation ignored, padding counted once, bias forgotten, the wrong channels, ...)
and names the first that matches. The right answers come from core.arithmetic.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from fractions import Fraction

from core.convolution.arithmetic import (
    conv_macs,
    conv_output_size,
    conv_param_count,
    conv_transpose_macs,
    conv_transpose_output_size,
    dilated_kernel_span,
)
from core.i18n import N_, _

LEVELS = {
    "lecture": N_("the lecture's eight cases"),
    "1": N_("level 1: 1D"),
    "2": N_("level 2: 2D with padding and stride"),
    "3": N_("level 3: dilation, channels, groups, transposed"),
}
FIELDS = ("shape", "params", "macs", "field")
FIELD_NAMES = {
    "shape": N_("output shape"),
    "params": N_("parameters"),
    "macs": N_("MACs"),
    "field": N_("receptive field"),
}
# The lecture's cases (LESSON.md section 6): input, kernel, padding, stride, dilation.
LECTURE_CASES = (
    (N_("no padding, no strides"), 4, 3, 0, 1, 1),
    (N_("arbitrary padding"), 5, 4, 2, 1, 1),
    (N_("half (same) padding"), 5, 3, 1, 1, 1),
    (N_("full padding"), 5, 3, 2, 1, 1),
    (N_("no padding, strides"), 5, 3, 0, 2, 1),
    (N_("padding, strides"), 5, 3, 1, 2, 1),
    (N_("padding, strides (odd)"), 6, 3, 1, 2, 1),
    (N_("dilation"), 7, 3, 0, 1, 2),
)
MAX_SEED = 99_999


@dataclass(frozen=True)
class Question:
    code: str
    title: str
    size: tuple[int, ...]  # (L,) or (H, W)
    kernel: tuple[int, ...]
    padding: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    bias: bool = False
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    @property
    def dims(self) -> int:
        return len(self.size)

    @property
    def out_size(self) -> tuple[int, ...]:
        if self.transposed:
            return tuple(
                conv_transpose_output_size(n, k, p, s, d, a)
                for n, k, p, s, d, a in zip(*self._axes(), self.output_padding, strict=True)
            )
        return tuple(conv_output_size(*axis) for axis in zip(*self._axes(), strict=True))

    def _axes(self) -> tuple[tuple[int, ...], ...]:
        return self.size, self.kernel, self.padding, self.stride, self.dilation

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.out_channels, *self.out_size)

    @property
    def params(self) -> int:
        return conv_param_count(
            self.in_channels, self.out_channels, self.kernel, self.bias, self.groups
        )

    @property
    def macs(self) -> int:
        if self.transposed:
            return conv_transpose_macs(
                self.in_channels, self.out_channels, self.kernel, self.size, self.groups
            )
        return conv_macs(
            self.in_channels, self.out_channels, self.kernel, self.out_size, self.groups
        )

    @property
    def receptive_field(self) -> tuple[int, ...] | None:
        """Input cells one output cell sees per axis; None for a transposed conv (an output
        cell there is fed by a varying number of input cells)."""
        if self.transposed:
            return None
        return tuple(
            dilated_kernel_span(k, d) for k, d in zip(self.kernel, self.dilation, strict=True)
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS if self.receptive_field is not None else FIELDS[:3]

    def answer(self, name: str) -> str:
        """The right answer as the page writes it."""
        if name == "shape":
            return "×".join(map(str, self.shape))
        if name == "params":
            return str(self.params)
        if name == "macs":
            return str(self.macs)
        return "×".join(map(str, self.receptive_field or ()))

    def describe(self) -> list[tuple[str, str]]:
        """(setting, value) rows that state the question, nothing of the answer. Sizes read
        C × H × W; per-axis settings (padding, stride, ...) read 'rows, cols', not being sizes."""
        axes = "" if self.dims == 1 else " " + _("(rows, cols)")

        def setting(values: tuple[int, ...]) -> str:
            return ", ".join(map(str, values))

        rows = [
            (
                _("layer"),
                (_("transposed conv {dims}D") if self.transposed else _("conv {dims}D")).format(
                    dims=self.dims
                ),
            ),
            (
                _("input (C × L)") if self.dims == 1 else _("input (C × H × W)"),
                "×".join(map(str, (self.in_channels, *self.size))),
            ),
            (_("kernel"), "×".join(map(str, self.kernel))),
            (_("padding") + (axes or " " + _("(each side)")), setting(self.padding)),
            (_("stride") + axes, setting(self.stride)),
            (_("dilation") + axes, setting(self.dilation)),
        ]
        if self.transposed:
            rows.append((_("output padding") + axes, setting(self.output_padding)))
        rows += [
            (_("output channels"), str(self.out_channels)),
            (_("groups"), str(self.groups)),
            (_("bias"), _("yes") if self.bias else _("no")),
        ]
        return rows

    def explorer_query(self) -> dict[str, str]:
        """The explorer's URL parameters for this layer (2D axes are rows then columns)."""
        two = self.dims == 2
        ax = (lambda v: (v[0], v[1])) if two else (lambda v: (1, v[0]))
        (h, w), (kh, kw) = ax(self.size), ax(self.kernel)
        (ph, pw), (sh, sw), (dh, dw) = ax(self.padding), ax(self.stride), ax(self.dilation)
        query = dict(
            mode="2D" if two else "1D",
            op="transposed convolution" if self.transposed else "convolution",
            h=h, w=w, kh=kh, kw=kw, ph=ph if two else 0, pw=pw, sh=sh if two else 1, sw=sw,
            dh=dh if two else 1, dw=dw, cin=self.in_channels, cout=self.out_channels,
            groups=self.groups, bias="1" if self.bias else "0",
        )  # fmt: skip
        if self.transposed:
            oh, ow = ax(self.output_padding)
            query.update(oph=oh if two else 0, opw=ow)
        return {key: str(value) for key, value in query.items()}


def _axes(dims: int, values: list[int]) -> tuple[int, ...]:
    return tuple(values[:dims])


def _valid(question: Question) -> bool:
    try:
        question.shape, question.params, question.macs  # noqa: B018 (raises when impossible)
    except ValueError:
        return False
    return True


def _random(level: int, seed: int) -> Question:
    rng = random.Random(seed * 10 + level)
    for _attempt in range(1000):
        question = _draw(level, seed, rng)
        if _valid(question):
            return question
    raise AssertionError("no valid question drawn")  # pragma: no cover (never in practice)


def _draw(level: int, seed: int, rng: random.Random) -> Question:
    code = f"{level}-{seed}"
    if level == 1:
        return Question(
            code=code,
            title=_("1D convolution"),
            size=(rng.randint(4, 16),),
            kernel=(rng.randint(1, 5),),
            padding=(rng.randint(0, 2),),
            stride=(rng.randint(1, 3),),
            dilation=(1,),
            bias=rng.random() < 0.5,
        )
    if level == 2:
        square = rng.random() < 0.6
        h = rng.randint(4, 12)
        w = h if square else rng.randint(4, 12)
        k = rng.randint(1, 5)
        p = rng.randint(0, 2)
        s = rng.randint(1, 3)
        return Question(
            code=code,
            title=_("2D convolution"),
            size=(h, w),
            kernel=(k, k),
            padding=(p, p),
            stride=(s, s),
            dilation=(1, 1),
            in_channels=rng.randint(1, 3),
            out_channels=rng.randint(1, 4),
            bias=rng.random() < 0.6,
        )
    groups = rng.choice((1, 1, 2, 3, 4))
    c_in = groups * rng.randint(1, 2)
    c_out = groups * rng.randint(1, 2)
    if rng.random() < 0.35:
        h = rng.randint(2, 6)
        s = rng.randint(1, 3)
        d = 1 if s > 1 or rng.random() < 0.6 else 2
        a = rng.randint(0, max(s, d) - 1)
        k = rng.randint(2, 4)
        return Question(
            code=code,
            title=_("2D transposed convolution"),
            size=(h, h),
            kernel=(k, k),
            padding=(rng.randint(0, 2),) * 2,
            stride=(s, s),
            dilation=(d, d),
            in_channels=c_in,
            out_channels=c_out,
            groups=groups,
            bias=rng.random() < 0.5,
            transposed=True,
            output_padding=(a, a),
        )
    n = rng.randint(6, 16)
    d = rng.randint(1, 3)
    return Question(
        code=code,
        title=(
            _("2D convolution with dilation and groups")
            if groups > 1
            else _("2D convolution with dilation")
        ),
        size=(n, n),
        kernel=(rng.randint(2, 4),) * 2,
        padding=(rng.randint(0, 3),) * 2,
        stride=(rng.randint(1, 3),) * 2,
        dilation=(d, d),
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        bias=rng.random() < 0.5,
    )


def lecture_question(index: int) -> Question:
    """Case `index` (1-8) of the lecture's table: square 2D, one channel in and out, no bias."""
    name, size, kernel, padding, stride, dilation = LECTURE_CASES[index - 1]
    return Question(
        code=f"case-{index}",
        title=_("lecture case {index}: {name}").format(index=index, name=_(name)),
        size=(size, size),
        kernel=(kernel, kernel),
        padding=(padding, padding),
        stride=(stride, stride),
        dilation=(dilation, dilation),
    )


# Any layer, as the explorer builds it: L (convolution) or T (transposed), 1 or 2 dimensions,
# then size, kernel, padding, stride, dilation (one number an axis, joined by '.'), channels
# in.out, groups, bias and, for T, the output padding: L2-5.5-3.3-1.1-2.2-1.1-c1.1-g1-b0.
_AXES = r"(\d{1,3}(?:\.\d{1,3})?)"
_LAYER_CODE = re.compile(
    rf"([LT])([12])-{_AXES}-{_AXES}-{_AXES}-{_AXES}-{_AXES}-c(\d{{1,3}})\.(\d{{1,3}})"
    rf"-g(\d{{1,3}})-b([01])(?:-o{_AXES})?"
)


def layer_question(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    padding: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    in_channels: int = 1,
    out_channels: int = 1,
    groups: int = 1,
    bias: bool = False,
    transposed: bool = False,
    output_padding: tuple[int, ...] = (),
) -> Question:
    """A question about any layer (the explorer's "ask the class"), its code a layer code."""

    def axes(values: tuple[int, ...]) -> str:
        return ".".join(str(int(v)) for v in values)

    counts = (*size, *kernel, *stride, *dilation, in_channels, out_channels, groups)
    if min(counts) < 1:
        raise ValueError(_("sizes, kernels, strides, dilations, channels and groups are 1 or more"))

    dims = len(size)
    code = (
        f"{'T' if transposed else 'L'}{dims}-{axes(size)}-{axes(kernel)}-{axes(padding)}"
        f"-{axes(stride)}-{axes(dilation)}-c{in_channels}.{out_channels}-g{groups}"
        f"-b{int(bias)}" + (f"-o{axes(output_padding or (0,) * dims)}" if transposed else "")
    )
    question = Question(
        code=code,
        title=(
            _("a {dims}D transposed convolution from the explorer")
            if transposed
            else _("a {dims}D convolution from the explorer")
        ).format(dims=dims),
        size=tuple(size),
        kernel=tuple(kernel),
        padding=tuple(padding),
        stride=tuple(stride),
        dilation=tuple(dilation),
        in_channels=in_channels,
        out_channels=out_channels,
        groups=groups,
        bias=bool(bias),
        transposed=transposed,
        output_padding=tuple(output_padding or (0,) * dims) if transposed else (),
    )
    if not _valid(question):
        raise ValueError(_("the layer {code} has no output").format(code=code))
    return question


def _from_layer_code(match: re.Match) -> Question:
    kind, dims = match.group(1), int(match.group(2))
    parts = [tuple(int(v) for v in match.group(i).split(".")) for i in range(3, 8)]
    if any(len(part) != dims for part in parts):
        raise ValueError(_("a {dims}D layer code has {dims} number(s) an axis").format(dims=dims))
    if kind == "L" and match.group(12):
        raise ValueError(_("only a transposed layer (T) has an output padding"))
    output = tuple(int(v) for v in match.group(12).split(".")) if match.group(12) else ()
    if kind == "T" and len(output) != dims:
        raise ValueError(
            _("a {dims}D transposed layer code ends with its output padding").format(dims=dims)
        )
    return layer_question(
        *parts,
        in_channels=int(match.group(8)),
        out_channels=int(match.group(9)),
        groups=int(match.group(10)),
        bias=match.group(11) == "1",
        transposed=kind == "T",
        output_padding=output,
    )


def question_from_code(code: str) -> Question:
    """The question a link names: `case-1`..`case-8`, `<level 1-3>-<seed 0-99999>`, or a
    layer code (`layer_question`)."""
    layer = _LAYER_CODE.fullmatch(code.strip())
    if layer:
        return _from_layer_code(layer)
    match = re.fullmatch(r"case-([1-8])|([123])-(\d{1,5})", code.strip())
    if not match:
        raise ValueError(
            _(
                "a question code is case-1 ... case-{count}, <level 1-3>-<seed 0-{MAX_SEED}> or a "
                "layer from the explorer, got {code!r}"
            ).format(count=len(LECTURE_CASES), MAX_SEED=MAX_SEED, code=code[:30])
        )
    if match.group(1):
        return lecture_question(int(match.group(1)))
    return _random(int(match.group(2)), int(match.group(3)))


def next_code(level: str, rng: random.Random, current: str | None = None) -> str:
    """A new question's code for a level (`lecture`, `1`, `2`, `3`), never `current`: "Next
    question" must not show the question just answered again (1 draw in 8 for the lecture's
    cases)."""
    if level not in LEVELS:
        raise ValueError(
            _("level must be one of {join}, got {level!r}").format(
                join=", ".join(LEVELS), level=level
            )
        )
    while True:
        if level == "lecture":
            code = f"case-{rng.randint(1, len(LECTURE_CASES))}"
        else:
            code = f"{level}-{rng.randint(0, MAX_SEED)}"
        if code != current:
            return code


# ---------------------------------------------------------------------- grading


@dataclass(frozen=True)
class Feedback:
    field: str
    correct: bool
    message: str
    mistake: str | None = None  # a short name of the mistake, when it could be named
    answer: str = ""  # the right answer


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def parse_numbers(text: str) -> list[Fraction]:
    """Numbers in a typed answer: '4×3×3', '4x3x3', '(4, 3, 3)', '2.5', '5/2', '1,234'."""
    cleaned = re.sub(r"(?<=\d),(?=\d{3}(\D|$))", "", text.strip())  # thousands separators
    tokens = re.findall(r"-?\d+(?:\.\d+)?(?:/\d+)?", cleaned)
    rest = re.sub(r"-?\d+(?:\.\d+)?(?:/\d+)?", "", cleaned)
    if not tokens or re.search(r"[^\s×xX*,;()\[\]]", rest):
        raise ValueError(_("not a number or a shape: {text!r}").format(text=text[:30]))
    try:
        return [Fraction(token) for token in tokens]
    except ZeroDivisionError:
        raise ValueError(_("division by zero in {text!r}").format(text=text[:30])) from None


@dataclass
class _Candidates:
    """Wrong answers and the mistake each one is, first match wins."""

    items: list[tuple[object, str, str]] = field(default_factory=list)

    def add(self, value: object, name: str, message: str) -> None:
        self.items.append((value, name, message))

    def match(self, given: object, right: object) -> tuple[str, str] | None:
        for value, name, message in self.items:
            if value == given and value != right:
                return name, message
        return None


def _axis_candidates(q: Question, a: int) -> _Candidates:
    n, k, p, s, d = (values[a] for values in q._axes())
    span = d * (k - 1) + 1
    found = _Candidates()
    if q.transposed:
        op = q.output_padding[a]
        forward = (n + 2 * p - span) // s + 1 if n + 2 * p >= span else None
        found.add(
            forward,
            N_("used the convolution formula"),
            _(
                "that is the plain convolution's output; a transposed convolution goes the other "
                "way: (n − 1)·s − 2p + d(k − 1) + output padding + 1 = ({n} − 1)·{s} − 2·{p} + "
                "{d}·({k} − 1) + {op} + 1"
            ).format(n=n, s=s, p=p, d=d, k=k, op=op),
        )
        found.add(
            (n - 1) * s - 2 * p + span,
            N_("forgot the output padding"),
            _("add the output padding ({op}): it is added once, on the bottom/right").format(op=op),
        )
        found.add(
            (n - 1) * s + 2 * p + span + op,
            N_("added the padding"),
            _("a transposed convolution removes its padding from the output: −2p, not +2p"),
        )
        found.add(
            n * s - 2 * p + span + op,
            N_("multiplied n by the stride"),
            _("the input's {n} cells have {value} gaps between them: (n − 1)·s").format(
                n=n, value=n - 1
            ),
        )
        found.add(
            (n - 1) * s - 2 * p + k + op,
            N_("ignored dilation"),
            _("a dilated kernel spans d(k − 1) + 1 = {span} cells, not {k}").format(span=span, k=k),
        )
        found.add(
            (n - 1) * s - p + span + op,
            N_("counted padding once"),
            _("padding is removed on both sides: 2p"),
        )
        return found
    exact = Fraction(n + 2 * p - span, s) + 1
    found.add(
        exact,
        N_("forgot the floor"),
        _(
            "({n} + 2·{p} − {span})/{s} + 1 = {float:g} is not whole: the last window must fit "
            "inside the padded input, so round down: ⌊{float2:g}⌋ + 1"
        ).format(n=n, p=p, span=span, s=s, float=float(exact), float2=float(exact - 1)),
    )
    found.add(
        math.ceil(exact - 1) + 1,
        N_("rounded up"),
        _("a window that would stick out of the padded input does not count: round down (floor)"),
    )

    def formula(size: int, pad2: int, kernel_span: int, stride: int, plus: int = 1) -> int | None:
        top = size + pad2 - kernel_span
        return top // stride + plus if top >= 0 else None

    found.add(
        formula(n, 2 * p, k, s),
        N_("ignored dilation"),
        _(
            "a kernel of {k} taps spread {d} apart spans d(k − 1) + 1 = {span} cells, not {k}"
        ).format(k=k, d=d, span=span),
    )
    found.add(
        formula(n, 2 * p, d * k, s),
        N_("used d·k for the span"),
        _("the dilated kernel spans d(k − 1) + 1 = {span} cells, not d·k = {value}").format(
            span=span, value=d * k
        ),
    )
    found.add(
        formula(n, p, span, s),
        N_("counted padding once"),
        _("padding is added on both sides: n + 2p = {value}, not {value2}").format(
            value=n + 2 * p, value2=n + p
        ),
    )
    found.add(
        formula(n, 0, span, s),
        N_("ignored the padding"),
        _("the padded input is n + 2p = {value} cells long").format(value=n + 2 * p),
    )
    found.add(
        formula(n, 2 * p, span, 1),
        N_("ignored the stride"),
        _("the window moves {s} cells at a time: divide by the stride").format(s=s),
    )
    found.add(
        formula(n, 2 * p, span, s, plus=0),
        N_("forgot the + 1"),
        _("the first window also counts: ⌊(n + 2p − span)/s⌋ + 1"),
    )
    found.add(
        formula(n, 2 * p, span - 1, s),
        N_("forgot the − 1"),
        _("the formula is ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1: the span is {span}, not {value}").format(
            span=span, value=span - 1
        ),
    )
    return found


def _grade_shape(q: Question, text: str) -> Feedback:
    right = q.answer("shape")
    numbers = parse_numbers(text)
    if len(numbers) == q.dims:  # spatial sizes only
        if q.out_channels != 1:
            return Feedback(
                "shape",
                False,
                _("give the output channels too: C_out × {axes}").format(
                    axes="H × W" if q.dims == 2 else "L"
                ),
                N_("left out the channels"),
                right,
            )
        numbers = [Fraction(1), *numbers]
    if len(numbers) != q.dims + 1:
        return Feedback(
            "shape",
            False,
            _(
                "a {dims}D output has the shape C_out × {axes} ({count} numbers), you gave {given}"
            ).format(
                dims=q.dims,
                axes="H × W" if q.dims == 2 else "L",
                count=q.dims + 1,
                given=len(numbers),
            ),
            N_("wrong number of dimensions"),
            right,
        )
    if tuple(numbers) == q.shape:
        return Feedback("shape", True, _("right"), None, right)
    if numbers[0] != q.out_channels:
        if numbers[0] == q.in_channels:
            name, message = (
                N_("used the input channels"),
                _("the output has one channel per kernel stack: C_out = {count}").format(
                    count=q.out_channels
                ),
            )
        else:
            name = None
            message = _("the output has C_out = {count} channels").format(count=q.out_channels)
        return Feedback("shape", False, message, name, right)
    for a in range(q.dims):
        given, good = numbers[1 + a], q.out_size[a]
        if given == good:
            continue
        axis = (_("height"), _("width"))[a] if q.dims == 2 else _("length")
        named = _axis_candidates(q, a).match(given, good)
        if named:
            return Feedback(
                "shape", False, f"{axis}: {named[1]}", named[0], right
            )  # both translated
        return Feedback(
            "shape",
            False,
            _("{axis}: not {show}; recompute with the formula").format(
                axis=axis, show=_show(given)
            ),
            None,
            right,
        )
    return Feedback("shape", False, _("not this shape"), None, right)  # pragma: no cover


def _grade_count(q: Question, name: str, text: str) -> Feedback:
    right = q.params if name == "params" else q.macs
    numbers = parse_numbers(text)
    if len(numbers) != 1:
        return Feedback(name, False, _("give one number"), N_("not one number"), str(right))
    given = numbers[0]
    if given == right:
        return Feedback(name, True, _("right"), None, str(right))
    k = math.prod(q.kernel)
    span = math.prod(dilated_kernel_span(kk, d) for kk, d in zip(q.kernel, q.dilation, strict=True))
    c_in, c_out, g = q.in_channels, q.out_channels, q.groups
    per_in = c_in // g
    bias = c_out if q.bias else 0
    found = _Candidates()
    if name == "params":
        weights = per_in * c_out * k
        found.add(
            weights,
            N_("forgot the bias"),
            _("add one bias per output channel: + {c_out}").format(c_out=c_out),
        )
        found.add(weights + c_out, N_("counted a bias"), _("this layer has no bias (bias = no)"))
        found.add(
            c_in * c_out * k + bias,
            N_("ignored the groups"),
            _("with {g} groups each kernel spans only C_in/g = {per_in} input channels").format(
                g=g, per_in=per_in
            ),
        )
        found.add(
            c_out * k + bias,
            N_("multiplied by the wrong channels"),
            _(
                "each of the C_out = {c_out} kernel stacks spans C_in/g = {per_in} input channels"
            ).format(c_out=c_out, per_in=per_in),
        )
        found.add(
            per_in * k + (1 if q.bias else 0),
            N_("multiplied by the wrong channels"),
            _("there is one kernel stack per output channel: × C_out = {c_out}").format(
                c_out=c_out
            ),
        )
        found.add(
            weights + c_in,
            N_("one bias per input channel"),
            _("one bias per output channel (C_out = {c_out}), not per input channel").format(
                c_out=c_out
            ),
        )
        found.add(
            per_in * c_out * span + bias,
            N_("counted the dilated span"),
            _("dilation spreads the taps apart but adds no weights"),
        )
        found.add(
            q.macs,
            N_("gave the MACs"),
            _("weights are shared: the count does not grow with the input"),
        )
        if q.dims == 2:
            found.add(
                per_in * c_out * q.kernel[0] + bias,
                N_("counted one kernel axis"),
                _("a 2D kernel has K_h·K_w = {k} weights").format(k=k),
            )
    else:
        positions = math.prod(q.size if q.transposed else q.out_size)
        other = math.prod(q.out_size if q.transposed else q.size)
        found.add(
            right + c_out * math.prod(q.out_size) if q.bias else None,
            N_("counted the bias"),
            _("adding a bias is not a multiply-accumulate: MACs leave it out"),
        )
        found.add(
            right // per_in * c_in,
            N_("ignored the groups"),
            _("with {g} groups each output reads only C_in/g = {per_in} input channels").format(
                g=g, per_in=per_in
            ),
        )
        if q.transposed:
            found.add(
                c_out * math.prod(q.out_size) * per_in * k,
                N_("used the output positions"),
                _(
                    "in a transposed convolution each of the {positions} input positions scatters "
                    "its kernels: C_in · positions_in · C_out/g · K"
                ).format(positions=positions),
            )
        else:
            found.add(
                c_out * other * per_in * k,
                N_("used the input size"),
                _("one window per output cell: {positions} output positions, not {other}").format(
                    positions=positions, other=other
                ),
            )
        if q.transposed:
            channel_factors = ((c_in, "C_in"), (c_out // g, "C_out/g"))
        else:
            channel_factors = ((per_in, "C_in/g"), (c_out, "C_out"))
        for factor, label in channel_factors:
            found.add(
                right // factor, N_("multiplied by the wrong channels"), f"× {label} = {factor}"
            )
        found.add(
            right // k * span,
            N_("counted the dilated span"),
            _("dilation spreads the taps apart but adds no multiplications"),
        )
        found.add(
            q.params,
            N_("gave the parameters"),
            _("MACs: every weight works once per output position"),
        )
    named = found.match(given, right)
    if named:
        return Feedback(name, False, named[1], named[0], str(right))
    return Feedback(name, False, _("not {show}").format(show=_show(given)), None, str(right))


def _grade_field(q: Question, text: str) -> Feedback:
    right = q.receptive_field
    assert right is not None
    numbers = parse_numbers(text)
    if len(numbers) == 1 and q.dims == 2 and len(set(right)) == 1:
        numbers = numbers * 2  # "5" for a square 5×5 field
    if tuple(numbers) == right:
        return Feedback("field", True, _("right"), None, q.answer("field"))
    if len(numbers) != q.dims:
        return Feedback(
            "field",
            False,
            (_("give {dims} numbers") if q.dims > 1 else _("give {dims} number")).format(
                dims=q.dims
            ),
            None,
            q.answer("field"),
        )
    for a in range(q.dims):
        given, k, d = numbers[a], q.kernel[a], q.dilation[a]
        if given == right[a]:
            continue
        if given == k:
            message = _("dilation {d} spreads the {k} taps: d(k − 1) + 1 = {right}").format(
                d=d, k=k, right=right[a]
            )
            return Feedback("field", False, message, N_("ignored dilation"), q.answer("field"))
        if given == d * k:
            message = _("d(k − 1) + 1 = {right}, not d·k").format(right=right[a])
            return Feedback("field", False, message, N_("used d·k for the span"), q.answer("field"))
        return Feedback(
            "field",
            False,
            _("one output cell sees d(k − 1) + 1 = {right} cells").format(right=right[a]),
            None,
            q.answer("field"),
        )
    return Feedback(
        "field", False, _("not this field"), None, q.answer("field")
    )  # pragma: no cover


def grade(question: Question, name: str, text: str) -> Feedback:
    """One typed answer to one field (`shape`, `params`, `macs`, `field`), graded."""
    if name not in question.fields:
        raise ValueError(
            _("this question asks for {join}, not {name!r}").format(
                join=", ".join(question.fields), name=name
            )
        )
    if not text.strip():
        return Feedback(name, False, _("no answer"), N_("no answer"), question.answer(name))
    try:
        if name == "shape":
            return _grade_shape(question, text)
        if name == "field":
            return _grade_field(question, text)
        return _grade_count(question, name, text)
    except ValueError as error:
        return Feedback(name, False, str(error), N_("not a number"), question.answer(name))
