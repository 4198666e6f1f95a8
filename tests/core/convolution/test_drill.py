"""The drill: every question's answers equal torch's own (shape from a forward pass, parameters
from the module, MACs from torch's FLOP counter); the grader accepts the right answers however
they are typed, names the known mistakes, and never raises on any text."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.convolution.drill import (
    LECTURE_CASES,
    LEVELS,
    Question,
    grade,
    layer_question,
    lecture_question,
    next_code,
    question_from_code,
)


def torch_answers(q: Question) -> tuple[tuple[int, ...], int, int]:
    conv = {
        (1, False): nn.Conv1d,
        (2, False): nn.Conv2d,
        (1, True): nn.ConvTranspose1d,
        (2, True): nn.ConvTranspose2d,
    }[(q.dims, q.transposed)]
    extra = dict(output_padding=q.output_padding) if q.transposed else {}
    layer = conv(
        q.in_channels,
        q.out_channels,
        q.kernel,
        stride=q.stride,
        padding=q.padding,
        dilation=q.dilation,
        groups=q.groups,
        bias=q.bias,
        **extra,
    )
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = layer(torch.zeros(1, q.in_channels, *q.size))
    params = sum(p.numel() for p in layer.parameters())
    return tuple(out.shape[1:]), params, counter.get_total_flops() // 2


@settings(max_examples=200, deadline=None)
@given(level=st.sampled_from(["1", "2", "3"]), seed=st.integers(0, 99_999))
def test_random_questions_agree_with_torch_and_right_answers_pass(level, seed) -> None:
    q = question_from_code(f"{level}-{seed}")
    assert q == question_from_code(q.code)  # a link opens the same question again
    assert (q.shape, q.params, q.macs) == torch_answers(q)
    for name in q.fields:
        feedback = grade(q, name, q.answer(name))
        assert feedback.correct, (q, name, feedback)


@pytest.mark.parametrize("index", range(1, len(LECTURE_CASES) + 1))
def test_lecture_cases(index: int) -> None:
    q = lecture_question(index)
    assert q.shape == torch_answers(q)[0]
    assert grade(q, "shape", q.answer("shape").replace("×", "x")).correct


def test_levels_mix_their_kinds() -> None:
    rng = random.Random(0)
    level_3 = [question_from_code(next_code("3", rng)) for _ in range(60)]
    assert any(q.transposed for q in level_3) and any(q.groups > 1 for q in level_3)
    assert any(max(q.dilation) > 1 for q in level_3)
    assert all(question_from_code(next_code("1", rng)).dims == 1 for _ in range(20))
    assert next_code("lecture", rng).startswith("case-")
    assert set(LEVELS) == {"lecture", "1", "2", "3"}


def test_the_next_question_is_never_the_one_just_answered() -> None:
    rng = random.Random(0)
    code = "case-8"
    seen = set()
    for _ in range(200):  # with 8 cases a repeat would come about 25 times
        following = next_code("lecture", rng, current=code)
        assert following != code
        seen.add(following)
        code = following
    assert len(seen) == len(LECTURE_CASES)  # every case still comes up


def conv1d(size, kernel, padding=0, stride=1, dilation=1, **extra) -> Question:
    return Question("t", "t", (size,), (kernel,), (padding,), (stride,), (dilation,), **extra)


WRONG_CHANNELS = "multiplied by the wrong channels"


def tconv1d(size, kernel, padding, stride, output_padding) -> Question:
    return conv1d(size, kernel, padding, stride, transposed=True, output_padding=(output_padding,))


def conv2d(size, kernel, padding=0, stride=1, dilation=1, **extra) -> Question:
    two = lambda v: (v, v)  # noqa: E731
    return Question(
        "t", "t", two(size), two(kernel), two(padding), two(stride), two(dilation), **extra
    )


@pytest.mark.parametrize(
    "question,field,answer,mistake",
    [
        # The example: input 4, padding 1, kernel 3, stride 2 -> 2; 2.5 forgot the floor.
        (conv1d(4, 3, 1, 2), "shape", "2.5", "forgot the floor"),
        (conv1d(4, 3, 1, 2), "shape", "5/2", "forgot the floor"),
        (conv1d(4, 3, 1, 2), "shape", "1×3", "rounded up"),
        (conv2d(7, 3, dilation=2), "shape", "1×5×5", "ignored dilation"),
        (conv2d(7, 3, dilation=2), "field", "3×3", "ignored dilation"),
        (conv2d(7, 3, dilation=2), "field", "6", "used d·k for the span"),
        (conv2d(5, 3, 2), "shape", "1×5×5", "counted padding once"),
        (conv2d(5, 3, 2), "shape", "1×3×3", "ignored the padding"),
        (conv2d(9, 3, 0, 2), "shape", "1×7×7", "ignored the stride"),
        (conv2d(9, 3, 0, 2), "shape", "1×3×3", "forgot the + 1"),
        (conv2d(5, 3, out_channels=4, in_channels=2), "shape", "2×3×3", "used the input channels"),
        (conv2d(5, 3, out_channels=4), "shape", "3×3", "left out the channels"),
        (conv2d(5, 3, in_channels=2, out_channels=4, bias=True), "params", "72", "forgot the bias"),
        (conv2d(5, 3, in_channels=2, out_channels=4), "params", "76", "counted a bias"),
        (
            conv2d(5, 3, in_channels=2, out_channels=4, bias=True),
            "params",
            "40",
            "multiplied by the wrong channels",
        ),
        (
            conv2d(5, 3, in_channels=2, out_channels=4, bias=True),
            "params",
            "19",
            "multiplied by the wrong channels",
        ),
        (
            conv2d(5, 3, in_channels=4, out_channels=4, groups=2, bias=True),
            "params",
            "148",
            "ignored the groups",
        ),
        (conv2d(7, 3, dilation=2), "params", "25", "counted the dilated span"),
        (conv2d(5, 3, bias=True), "macs", f"{81 + 9}", "counted the bias"),
        (conv2d(5, 3), "macs", f"{25 * 9}", "used the input size"),
        (conv2d(5, 3, in_channels=3, out_channels=2), "macs", "162", WRONG_CHANNELS),
        # Transposed: input 2, kernel 3, stride 2, padding 1 -> (2-1)·2 - 2 + 2 + 0 + 1 = 3.
        (tconv1d(2, 3, 1, 2, 0), "shape", "1×7", "added the padding"),
        (tconv1d(2, 3, 1, 2, 1), "shape", "1×3", "forgot the output padding"),
        (tconv1d(2, 3, 1, 2, 0), "shape", "1×5", "multiplied n by the stride"),
        (tconv1d(4, 3, 0, 1, 0), "shape", "1×2", "used the convolution formula"),
    ],
)  # fmt: skip
def test_known_mistakes_are_named(question, field, answer, mistake) -> None:
    feedback = grade(question, field, answer)
    assert not feedback.correct
    assert feedback.mistake == mistake, feedback
    assert feedback.answer == question.answer(field)


def test_the_floor_message_writes_the_numbers_out() -> None:
    feedback = grade(conv1d(4, 3, 1, 2), "shape", "2.5")
    assert "(4 + 2·1 − 3)/2 + 1 = 2.5" in feedback.message
    assert grade(conv1d(4, 3, 1, 2), "shape", "2").correct
    assert grade(conv1d(4, 3, 1, 2), "shape", "(1, 2)").correct
    assert grade(conv2d(6, 3, 1, 2), "shape", "1 x 3 x 3").correct
    assert grade(conv2d(100, 3, in_channels=3, out_channels=8), "macs", "2,074,464").correct


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), field=st.sampled_from(["shape", "params", "macs", "field"]))
def test_the_grader_never_raises(text: str, field: str) -> None:
    feedback = grade(conv2d(5, 3, 1), field, text)
    assert isinstance(feedback.message, str) and feedback.answer


def test_bad_codes_are_refused_clearly() -> None:
    for code in ("case-9", "4-12", "1-123456", "x", ""):
        with pytest.raises(ValueError, match="a question code is"):
            question_from_code(code)
    with pytest.raises(ValueError, match="this question asks for"):
        grade(conv1d(4, 3, transposed=True, output_padding=(0,)), "field", "3")


@pytest.mark.parametrize(
    "layer",
    [
        dict(size=(5, 5), kernel=(3, 3), padding=(1, 1), stride=(2, 2), dilation=(1, 1)),
        dict(size=(9, 7), kernel=(3, 2), padding=(0, 1), stride=(1, 2), dilation=(2, 1),
             in_channels=4, out_channels=6, groups=2, bias=True),
        dict(size=(12,), kernel=(3,), padding=(1,), stride=(2,), dilation=(1,), out_channels=3),
        dict(size=(4, 4), kernel=(3, 3), padding=(1, 1), stride=(2, 2), dilation=(1, 1),
             transposed=True, output_padding=(1, 1)),
    ],
)  # fmt: skip
def test_any_explorer_layer_is_a_question_its_code_opens_again(layer: dict) -> None:
    question = layer_question(**layer)
    again = question_from_code(question.code)
    assert again == question
    torch_layer = torch.nn.ConvTranspose2d if question.transposed else torch.nn.Conv2d
    if question.dims == 2:
        module = torch_layer(
            question.in_channels,
            question.out_channels,
            question.kernel,
            stride=question.stride,
            padding=question.padding,
            dilation=question.dilation,
            groups=question.groups,
            bias=question.bias,
            **({"output_padding": question.output_padding} if question.transposed else {}),
        )
        out = module(torch.zeros(1, question.in_channels, *question.size))
        assert tuple(out.shape[1:]) == question.shape
        assert sum(p.numel() for p in module.parameters()) == question.params


@pytest.mark.parametrize(
    "code",
    [
        "L2-2.2-5.5-0.0-1.1-1.1-c1.1-g1-b0",  # no output: the kernel is wider than the input
        "L2-5-3-1-1-1-c1.1-g1-b0",  # 2D with one number an axis
        "L2-5.5-3.3-0.0-1.1-1.1-c1.1-g0-b0",  # no groups
        "L1-5-3-0-1-1-c1.1-g1-b0-o0",  # output padding on a plain convolution
        "T1-5-3-0-1-1-c1.1-g1-b0",  # a transposed one without it
    ],
)
def test_a_bad_layer_code_is_a_value_error(code: str) -> None:
    with pytest.raises(ValueError):
        question_from_code(code)
