"""Each known tutorial bug as a check that our reward passes and the tutorial's fails.

`test_ours_fixes` runs every check on our reward; `test_tutorial_has_the_bug` runs the same check on
the tutorial's verbatim function (benchmarks/reference/tutorial.py) and requires it to fail, so each check is
proven able to fail.
"""

from __future__ import annotations

import pytest
from reference import tutorial
from reward_helpers import call, xml

from grpo_rewards import AnswerCheck, Correctness, Integer, NumberCheck, SoftFormat, StrictFormat, XmlCount

MULTILINE_REASONING = "Natalia sold 48 clips in April.\nIn May she sold 48 / 2 = 24.\n48 + 24 = 72."


def soft_format_accepts_multiline_reasoning(soft_format):
    assert call(soft_format, [xml(MULTILINE_REASONING, "72")]) == [0.5]


def strict_format_accepts_multiline_reasoning(strict_format):
    assert call(strict_format, [xml(MULTILINE_REASONING, "72")]) == [0.5]


def strict_format_accepts_no_trailing_newline(strict_format):
    assert call(strict_format, [xml("48 + 24 = 72", "72", end="")]) == [0.5]


def integer_accepts_negative(integer):
    assert call(integer, [xml("5 - 8 = -3", "-3")]) == [0.5]


def integer_accepts_thousands_commas(integer):
    assert call(integer, [xml("12 * 90 = 1080", "1,080")]) == [0.5]


def correctness_compares_numbers(correctness):
    texts = [xml("...", "72.0"), xml("...", "$72"), xml("...", "The answer is 72."), xml("...", "1,080")]
    assert call(correctness, texts, ["72", "72", "72", "1080"]) == [2.0, 2.0, 2.0, 2.0]


def xmlcount_does_not_penalise_missing_final_newline(xmlcount):
    long_reasoning = "step\n" * 200
    assert call(xmlcount, [xml(long_reasoning, "72", end="")]) == [0.5]


def answer_check_handles_gold_zero(answer_check):
    texts = ["The difference is 5 - 5 = 0.</think>0.0", "I get 3.</think>3"]
    # 0.0 is numerically the gold (ratio credit, as for any other gold); 3 is a wrong number, not "not a number".
    assert call(answer_check, texts, ["0", "0"]) == [2.0, -2.5]


def number_check_reads_the_final_answer(number_check):
    text = "She has 3 boxes of 4 pens, 3 * 4 = 12, plus 2 more.</think>\nSo the answer is 14."
    assert call(number_check, [text], ["14"]) == [3.5]


BUGS = [
    (soft_format_accepts_multiline_reasoning, SoftFormat(), tutorial.soft_format_reward_func),
    (strict_format_accepts_multiline_reasoning, StrictFormat(), tutorial.strict_format_reward_func),
    (strict_format_accepts_no_trailing_newline, StrictFormat(), tutorial.strict_format_reward_func),
    (integer_accepts_negative, Integer(), tutorial.int_reward_func),
    (integer_accepts_thousands_commas, Integer(), tutorial.int_reward_func),
    (correctness_compares_numbers, Correctness(), tutorial.correctness_reward_func),
    (xmlcount_does_not_penalise_missing_final_newline, XmlCount(), tutorial.xmlcount_reward_func),
    (answer_check_handles_gold_zero, AnswerCheck(), tutorial.check_answer),
    (number_check_reads_the_final_answer, NumberCheck(), tutorial.check_numbers),
]
IDS = [check.__name__ for check, _, _ in BUGS]


@pytest.mark.parametrize(("check", "ours", "theirs"), BUGS, ids=IDS)
def test_ours_fixes(check, ours, theirs):
    check(ours)


@pytest.mark.parametrize(("check", "ours", "theirs"), BUGS, ids=IDS)
def test_tutorial_has_the_bug(check, ours, theirs):
    with pytest.raises(AssertionError):
        check(theirs)


def test_tutorial_xmlcount_penalised_the_whole_text():
    # The figure in the README table: 0.001 per character of the whole completion.
    text = xml("step\n" * 200, "72", end="")
    assert tutorial.count_xml(text) == pytest.approx(0.5 + 0.001 - 0.001 * len(text))
