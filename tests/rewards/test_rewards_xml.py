"""The GSM8K tutorial's XML rewards: tutorial examples, scores and our behaviour at the edges."""

from __future__ import annotations

import pytest
from reference import tutorial
from reward_helpers import call, xml

from grpo_rewards import Correctness, Integer, SoftFormat, StrictFormat, XmlCount, count_xml

PERFECT = xml("Natalia sold 48 / 2 = 24 clips in May.", "72")


@pytest.mark.parametrize(
    "text",
    [
        PERFECT,
        xml("one line", "72") + "trailing words",
        "<reasoning>\nonly reasoning\n</reasoning>\n",
        "<reasoning>\na\n</reasoning>\n<answer>\n1\n</answer>\n<answer>\n2\n</answer>\n",
        "no tags at all",
        "",
    ],
)
def test_xmlcount_equals_tutorial_where_the_tutorial_is_right(text):
    # Where </answer> is followed by a newline (or absent with no <answer>), the tutorial was right.
    assert count_xml(text) == pytest.approx(tutorial.count_xml(text))


def test_xmlcount_scores():
    assert call(XmlCount(), [PERFECT]) == [0.5]
    assert call(XmlCount(), [PERFECT + "abc"]) == [pytest.approx(0.5 - 2 * 0.003)]
    assert call(XmlCount(), ["<reasoning>\nx\n</reasoning>\n"]) == [0.25]
    # Truncated before </answer>: the closing tag's 0.125 is lost, nothing else.
    assert call(XmlCount(), ["<reasoning>\nx\n</reasoning>\n<answer>\n72"]) == [0.375]


def test_xmlcount_prefix_counts_as_start_of_completion():
    completion = PERFECT.removeprefix("<reasoning>\n")
    assert call(XmlCount(), [completion]) == [0.375]
    assert call(XmlCount(prefix="<reasoning>\n"), [completion]) == [0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PERFECT, 0.5),
        ("<reasoning>a</reasoning><answer>b</answer>", 0.5),
        ("<reasoning>a\nb</reasoning>\n\n<answer>\nb\n</answer> then more", 0.5),
        ("<reasoning>a</reasoning> x <answer>b</answer>", 0.0),  # text between the blocks
        ("<reasoning>a</reasoning><answer>b", 0.0),  # unclosed answer
        (" <reasoning>a</reasoning><answer>b</answer>", 0.0),  # must start with the tag, as the tutorial's re.match
        ("<reasoning>a</reasoning>x</reasoning><answer>b</answer>", 0.5),  # as the tutorial's lazy .*? would
        ("72", 0.0),
    ],
)
def test_soft_format(text, expected):
    assert call(SoftFormat(), [text]) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PERFECT, 0.5),
        (xml("a\nb", "72", end=""), 0.5),
        (xml("a", "72", end="\n\n"), 0.0),
        ("<reasoning>\na\n</reasoning>\n<answer>\n72\n</answer>\n<answer>\n73\n</answer>\n", 0.0),  # answer twice
        ("<reasoning>\na\n</reasoning>\n<reasoning>\nb\n</reasoning>\n<answer>\n72\n</answer>\n", 0.0),
        ("<reasoning>a</reasoning>\n<answer>\n72\n</answer>\n", 0.0),  # missing newlines inside tags
        ("x" + PERFECT, 0.0),
    ],
)
def test_strict_format(text, expected):
    assert call(StrictFormat(), [text]) == [expected]


def test_strict_format_prefix():
    completion = PERFECT.removeprefix("<reasoning>\n")
    assert call(StrictFormat(), [completion]) == [0.0]
    assert call(StrictFormat(prefix="<reasoning>\n"), [completion]) == [0.5]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("72", 0.5), ("-3", 0.5), ("+3", 0.5), ("1,080", 0.5), ("109,200,000", 0.5), ("2.5", 0.0), ("72.0", 0.0),
     ("1,08", 0.0), ("12a", 0.0), ("", 0.0), ("²", 0.0), ("seventy-two", 0.0)],
)
def test_integer(answer, expected):
    assert call(Integer(), [xml("...", answer)]) == [expected]


def test_tutorial_integer_examples_still_agree():
    texts = [xml("...", "72"), xml("...", "2.5"), xml("...", "x")]
    assert call(Integer(), texts) == call(tutorial.int_reward_func, texts)


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("72", "72", 2.0),
        ("72.0", "72", 2.0),
        ("$72", "72", 2.0),
        ("72 dollars", "72", 2.0),
        ("1080", "1,080", 2.0),
        ("-3", "-3", 2.0),
        ("3", "-3", 0.0),
        ("72.5", "72", 0.0),
        ("71", "72", 0.0),
        ("", "72", 0.0),
        ("\\frac{1}{2}", "\\frac{1}{2}", 2.0),  # non-numeric gold: exact string
        ("\\frac{2}{4}", "\\frac{1}{2}", 0.0),
    ],
)
def test_correctness(answer, gold, expected):
    assert call(Correctness(), [xml("...", answer)], [gold]) == [expected]


def test_correctness_without_answer_tags_needs_a_bare_number():
    # Like the tutorial: with no <answer> the whole text is the answer, so prose does not count.
    assert call(Correctness(), ["72", " $72.00 ", "I think it is 72"], ["72"] * 3) == [2.0, 2.0, 0.0]


def test_correctness_none_gold_is_not_applicable():
    assert call(Correctness(), [PERFECT, PERFECT], [None, "72"]) == [None, 2.0]


def test_correctness_missing_answer_column_says_what_to_do():
    with pytest.raises(ValueError, match=r"'correctness' needs the gold answer.*'answer'.*question"):
        Correctness()(prompts=[[]], completions=["72"], question=["q"])


def test_correctness_wrong_length_answer_column():
    with pytest.raises(ValueError, match="one gold answer per completion"):
        call(Correctness(), [PERFECT, PERFECT], ["72"])


def test_correctness_accepts_dapo_solution_column_and_int_gold():
    assert Correctness()(completions=[PERFECT], solution=["72"]) == [2.0]
    assert Correctness()(completions=[PERFECT], answer=[72]) == [2.0]
