"""Text helpers: completion shapes, answer extraction, number reading (incl. the tutorial's examples)."""

from __future__ import annotations

import pytest
from reference import tutorial

from grpo_rewards import completion_text, extract_xml_answer, final_number, last_number, parse_number, reasoning_text
from grpo_rewards.text import answer_after_reasoning, completion_text_or_none


@pytest.mark.parametrize(
    "text",
    ["<answer>7</answer>", "<reasoning>\na\n</reasoning>\n<answer>\n 72 \n</answer>\n", "<answer>1</answer><answer>2</answer>",
     "no tags", "<answer>unclosed", "</answer>x", ""],
)
def test_extract_xml_answer_matches_tutorial(text):
    assert extract_xml_answer(text) == tutorial.extract_xml_answer(text)


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("plain", "plain"),
        ([{"role": "assistant", "content": "c"}], "c"),
        ([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}], "ab"),
        ([{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}], "xy"),
        ([{"role": "assistant", "content": None}], None),
        ([{"role": "assistant"}], None),
        ([], None),
        (None, None),
        (3, None),
        (["str"], None),
    ],
)
def test_completion_text(completion, expected):
    assert completion_text_or_none(completion) == expected
    assert completion_text(completion) == (expected or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72", 72.0), ("72.0", 72.0), ("-3", -3.0), ("+3", 3.0), ("1,080", 1080.0), ("$1,080.50", 1080.5),
        ("-$5", -5.0), ("$-5", -5.0), ("Rp 15.000", 15.0), ("50%", 50.0), (" 7. ", 7.0), (".5", 0.5),
        ("\u22124", -4.0), ("1,08", None), ("1,2,3", None), ("about 7", None), ("", None), ("-", None),
        ("inf", None), ("nan", None), ("1e5", 100000.0), ("1_000", None), (None, None),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  0.34  ", 0.34), ("  123,456  ", 123456.0), ("  -0.234  ", -0.234), ("17", 17.0)],
)
def test_tutorial_match_numbers_examples(text, expected):
    assert float(tutorial.match_numbers.findall(text)[0].replace(",", "")) == expected
    assert parse_number(text) == last_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("costs $1,080 in 12 months, 90 each", 90.0), ("5-3", 3.0), ("x = -3.5", -3.5), ("v2 and 7.", 7.0), ("none", None), ("", None)],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


def test_final_number_prefers_boxed():
    assert final_number("\\boxed{36} for 2 kids") == 36.0
    assert final_number("\\boxed{x = 36}") == 36.0
    assert final_number("\\boxed{} 5") == 5.0


def test_reasoning_text_and_answer_after_reasoning():
    assert reasoning_text("<think>r</think>a") == "r"
    assert reasoning_text("r</think>a") == "r"
    assert reasoning_text("<think>truncated") == "truncated"
    assert reasoning_text("[S]r[E]a", "[S]", "[E]") == "r"
    assert answer_after_reasoning("r</think>a</think>b") == "a</think>b"
    assert answer_after_reasoning("r") is None
