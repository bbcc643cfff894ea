"""The DAPO tutorial's <think> rewards: tutorial examples, scores, tags as parameters, prefix."""

from __future__ import annotations

import pytest
from reference import tutorial
from reward_helpers import call

from grpo_rewards import AnswerCheck, NumberCheck, ThinkFormatApprox, ThinkFormatExact, get_reward_funcs


def test_think_format_exact_tutorial_examples():
    texts = ["Let me think!</think>Hence, the solution is 2.", "<think>Let me think!</think>\n\nHence, the solution is 2", "no end"]
    assert call(ThinkFormatExact(), texts) == [3.0, 3.0, 0.0]
    assert call(ThinkFormatExact(), texts) == call(tutorial.match_format_exactly, texts)


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        ("<think>a</think>b", "", 1.0),
        ("a</think>b", "", -0.5),  # the tutorial's score when <think> is prefilled by the template
        ("a</think>b", "<think>", 1.0),  # ... and ours once the prefix is declared
        ("a</think></think>b", "<think>", -0.5),
        ("<think>a", "<think>", -2.0),
        ("", "", -2.0),
    ],
)
def test_think_format_approx(text, prefix, expected):
    assert call(ThinkFormatApprox(prefix=prefix), [text]) == [expected]
    if not prefix:
        assert call(tutorial.match_format_approximately, [text]) == [expected]


def test_reasoning_tags_are_parameters():
    tags = {"reasoning_start": "<start_working_out>", "reasoning_end": "<end_working_out>"}
    text = "<start_working_out>2+2<end_working_out>4"
    exact, approx, answer, number = get_reward_funcs(["think_format_exact", "think_format_approx", "answer_check", "number_check"], **tags)
    assert call(exact, [text]) == [3.0]
    assert call(approx, [text]) == [1.0]
    assert call(answer, [text], ["4"]) == [5.0]
    assert call(number, [text], ["4"]) == [3.5]
    assert call(ThinkFormatExact(), [text]) == [0.0]


def test_empty_reasoning_end_is_refused():
    with pytest.raises(ValueError, match="reasoning_end must be a non-empty string"):
        AnswerCheck(reasoning_end="")


@pytest.mark.parametrize(
    ("after", "gold", "expected"),
    [
        ("72", "72", 5.0),
        ("\n\n72", "72", 3.5),
        ("70", "72", 2.0),  # ratio 0.97
        ("60", "72", 1.5),  # ratio 0.83
        ("7", "72", -2.5),
        ("-72", "72", -2.5),
        ("seventy-two", "72", -4.5),
        ("1,080", "1080", 2.0),  # the tutorial's float() refused commas (-4.5); read as written now
        ("0", "0", 5.0),
        ("0.0", "0", 2.0),
        ("3", "0", -2.5),
        ("1", "\\frac{1}{2}", None),  # a gold that is not a number: not applicable (tutorial: -4.5)
    ],
)
def test_answer_check(after, gold, expected):
    text = "Let me think.</think>" + after
    assert call(AnswerCheck(), [text], [gold]) == [expected]
    if gold != "0" and after != "1,080" and expected is not None:  # the fixed rows
        assert call(tutorial.check_answer, [text], [gold]) == [expected]


def test_answer_check_without_end_tag():
    assert call(AnswerCheck(), ["I ran out of tokens while thinking about 72"], ["72"]) == [-2.0]


@pytest.mark.parametrize(
    ("text", "gold", "expected"),
    [
        ("3 + 4 = 7</think>14", "14", 3.5),
        ("3 + 4 = 7</think>The answer is 14.", "14", 3.5),
        ("3 + 4 = 7</think>Total: $1,080.", "1080", 3.5),
        ("steps</think>\\boxed{42} (that is 6 * 7)", "42", 3.5),
        ("steps</think>-0.5", "-0.5", 3.5),
        ("steps</think>13", "14", -1.5),
        ("3 + 4 = 7 and 14</think>no number here", "14", -2.5),
        ("3 + 4 = 7, so 14", "14", -2.5),  # no final answer after the reasoning
        ("steps</think>14", "\\frac{1}{2}", None),  # a gold that is not a number: not applicable
        ("steps</think>14", None, None),
    ],
)
def test_number_check(text, gold, expected):
    assert call(NumberCheck(), [text], [gold]) == [expected]


def test_number_check_logs_instead_of_printing(caplog, capsys):
    reward = NumberCheck(log_every=5)
    with caplog.at_level("INFO", logger="grpo_rewards"):
        for _ in range(11):
            call(reward, ["x</think>14"], ["14"])
    records = [r for r in caplog.records if r.name == "grpo_rewards"]
    assert len(records) == 3  # calls 0, 5, 10
    assert "Question:\nWhat is 6 * 12?" in records[0].getMessage()
    assert "Answer:\n14" in records[0].getMessage()
    assert capsys.readouterr().out == ""
