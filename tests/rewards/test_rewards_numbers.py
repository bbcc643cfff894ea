"""Numbers in scientific notation and golds in prose: no wrong full credit.

An exponent is part of the number: otherwise the last-number fallback reads a piece of it ("1.5e-3" ends
in 3) and a right answer in scientific notation scores 0. A gold in prose is not applicable (None):
math-verify would parse it as a product of one-letter symbols, which any anagram of it matches.
"""

from __future__ import annotations

import pytest
from reward_helpers import call

from grpo_rewards import AnswerCheck, Correctness, NumberCheck, final_number, last_number, parse_number

EXPONENTS = [
    ("1e5", 1e5), ("1E5", 1e5), ("1.5e3", 1500.0), ("1.5e+3", 1500.0), ("1.5e-3", 0.0015), ("-2.5e-4", -2.5e-4),
    ("+2e2", 200.0), ("\u22122e2", -200.0), (".5e1", 5.0), ("1,500e-3", 1.5), ("1.5E\u22123", 0.0015),
    ("1.5 × 10^3", 1500.0), ("1.5 x 10^3", 1500.0), ("1.5*10^3", 1500.0), ("1.5 * 10**3", 1500.0),
    ("1.5 \\times 10^{3}", 1500.0), ("1.5\\times10^{-3}", 0.0015), ("6.02 \\cdot 10^{23}", 6.02e23),
    ("10^6", 1e6), ("10^{-2}", 0.01), ("2^{10}", 1024.0), ("2**10", 1024.0), ("$1.5e3", 1500.0), ("1.5e3.", 1500.0),
    ("1.5e3%", 1500.0),
]


@pytest.mark.parametrize(("text", "expected"), EXPONENTS)
def test_parse_number_reads_scientific_notation(text, expected):
    assert parse_number(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("text", "expected"), EXPONENTS)
def test_last_number_reads_the_whole_scientific_number(text, expected):
    # Never a piece of it: the 3 of "1.5e-3", the 10 or the 3 of "1.5 \times 10^{3}".
    assert last_number(f"The distance is {text} metres") == pytest.approx(abs(expected) if text[0] == "+" else expected, rel=1e-12)


@pytest.mark.parametrize("text", ["1e999", "10^{400}", "9" * 400, "1.5e", "e5", "abc1e5", "0^{-1}", "1,0e5x"])
def test_numbers_past_the_float_range_or_not_numbers_are_none(text):
    assert parse_number(text) is None


def test_exponent_digits_are_not_read_alone():
    assert last_number("so 2 × 10^5") == 200000.0
    assert last_number("error 1e-3") == 0.001
    assert last_number("x^2 then 1e999") is None  # past the float range: not read, and nothing before it
    assert final_number("\\boxed{1.5 \\times 10^{3}} for 2 kids") == 1500.0
    assert final_number("\\boxed{10^{3}} for 2 kids") == 1000.0


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("1.5e-3", "3", 0.0), ("1.5e-3", "1.5", 0.0), ("1.5e3", "1500", 2.0), ("1500", "1.5e3", 2.0),
        ("2 \\times 10^{5}", "5", 0.0), ("2 \\times 10^{5}", "200000", 2.0), ("The answer is 1.5e3 m.", "1500", 2.0),
        ("The answer is 1.5e3 m.", "3", 0.0), ("$1.2e3", "1200", 2.0), ("-2.5e-4", "-0.00025", 2.0), ("2.5e-4", "4", 0.0),
    ],
)
def test_correctness_with_exponents(answer, gold, expected):
    assert call(Correctness(), [f"<reasoning>\nr\n</reasoning>\n<answer>\n{answer}\n</answer>"], [gold]) == [expected]


@pytest.mark.parametrize(
    ("final", "gold", "expected"),
    [
        ("1.5e-3", "3", -1.5), ("1.5e-3", "0.0015", 3.5), ("\\boxed{1.5 \\times 10^{3}}", "1500", 3.5),
        ("\\boxed{1.5 \\times 10^{3}}", "3", -1.5), ("\\boxed{1.5 \\times 10^{3}}", "10", -1.5), ("so 6.02e23", "6.02e23", 3.5),
        ("so 2 × 10^5", "5", -1.5),
    ],
)
def test_number_check_with_exponents(final, gold, expected):
    assert call(NumberCheck(), [f"thinking</think>{final}"], [gold]) == [expected]


@pytest.mark.parametrize(("final", "gold", "expected"), [("1.5e3", "1500", 2.0), ("1500", "1.5e3", 2.0), ("1,500", "1500", 2.0)])
def test_answer_check_reads_numbers_as_written(final, gold, expected):
    assert call(AnswerCheck(), [f"thinking</think>{final}"], [gold]) == [expected]


PROSE_GOLDS = ["five", "Monday", "north-east", "the cat", "\\text{yes}", "the answer is Paris"]


@pytest.mark.parametrize("gold", PROSE_GOLDS)
def test_a_prose_gold_is_not_applicable(gold):
    anagram = gold[::-1]
    assert call(NumberCheck(), [f"x</think>{anagram}", "x</think>5"], [gold, gold]) == [None, None]
    assert call(AnswerCheck(), [f"x</think>{anagram}", "x</think>5"], [gold, gold]) == [None, None]
    # A prose gold is still matched as text where the answer is exactly it.
    assert call(AnswerCheck(), [f"x</think>{gold}"], [gold]) == [5.0]


@pytest.mark.parametrize("gold", ["5 apples", "$5$ apples", "5\\text{ apples}", "It takes 5 hours.", "#### 5"])
def test_a_gold_with_words_around_its_number_is_read_by_that_number(gold):
    assert call(NumberCheck(), ["x</think>\\boxed{5}", "x</think>\\boxed{6}"], [gold, gold]) == [3.5, -1.5]
    assert call(Correctness(), ["<answer>5</answer>", "<answer>6</answer>"], [gold, gold]) == [2.0, 0.0]


@pytest.mark.parametrize("gold", PROSE_GOLDS)
def test_math_accuracy_prose_gold_is_none(gold):
    pytest.importorskip("math_verify")
    from grpo_rewards import MathAccuracy

    texts = [f"x</think>${gold}$", f"x</think>${gold[::-1]}$", "x</think>$\\boxed{5}$"]
    assert call(MathAccuracy(), texts, [gold] * 3) == [None, None, None]


@pytest.mark.parametrize(
    ("final", "gold", "expected"),
    [
        ("$1.5e3$", "1500", 1.0), ("The answer is 1.5e3", "1500", 1.0), ("$1500$", "1.5e3", 1.0), ("$1$", "1e5", 0.0),
        ("$1.5$", "1.5e3", 0.0), ("$3e-9$", "1.5e-9", 0.0), ("$1.5e-9$", "1.5e-9", 1.0), ("$10$", "1.5 \\times 10^{3}", 0.0),
        ("$1500$", "1.5 \\times 10^{3}", 1.0), ("$6.02e23$", "6.02 \\times 10^{23}", 1.0), ("$1$", "(0, 1]", 0.0),
        ("$(0, 1]$", "(0, 1]", 1.0), ("$2$", "2 \\pi", 0.0), ("$2\\pi$", "2 \\pi", 1.0), ("$\\frac{1}{2}$", "0.5", 1.0),
        ("$6.02 \\times 10^{23}$", "6.02e23", 1.0), ("$6.02 \\times 10^{23}$", "6.02 \\times 10^{23}", 1.0),
        ("$3 \\cdot 10^{8} + 1$", "300000001", 1.0), ("$6.03 \\times 10^{23}$", "6.02e23", 0.0),
    ],
)
def test_math_accuracy_exponents_and_latex_golds(final, gold, expected):
    pytest.importorskip("math_verify")
    from grpo_rewards import MathAccuracy

    assert call(MathAccuracy(), [f"x</think>{final}"], [gold]) == [expected]
