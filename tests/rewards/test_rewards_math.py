"""math_accuracy: math-verify equivalence, gold parsed first, None for an unparseable gold, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from reward_helpers import call

pytest.importorskip("math_verify", reason="math_accuracy needs the [math] extra (math-verify)")

from grpo_rewards import MathAccuracy  # noqa: E402


@pytest.mark.parametrize(
    ("after", "gold", "expected"),
    [
        ("The answer is $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}", 1.0),
        ("So $0.5$", "\\frac{1}{2}", 1.0),
        ("$\\boxed{1080}$", "1080", 1.0),
        ("$\\boxed{1079}$", "1080", 0.0),
        ("no math here", "1080", 0.0),
        ("", "1080", 0.0),
        ("$\\boxed{2}$", "", None),
        ("$\\boxed{2}$", None, None),
    ],
)
def test_math_accuracy(after, gold, expected):
    assert call(MathAccuracy(), ["Reasoning with 3 and 7.</think>" + after], [gold]) == [expected]


def test_scores_only_the_final_answer_when_there_is_one():
    # The reasoning mentions the gold; the final answer is wrong.
    assert call(MathAccuracy(), ["maybe $\\boxed{1080}$? no.</think>$\\boxed{7}$"], ["1080"]) == [0.0]
    assert call(MathAccuracy(), ["no end tag, $\\boxed{1080}$"], ["1080"]) == [1.0]


def test_works_outside_the_main_thread():
    reward = MathAccuracy()
    texts = ["x</think>$\\boxed{\\frac{3}{4}}$", "x</think>$\\boxed{0.7}$"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: call(reward, texts, ["0.75", "0.75"]), range(4)))
    assert results == [[1.0, 0.0]] * 4


# Each kind of gold a data set holds, the answer read from it, a right and a wrong completion.
GOLDS = [
    ("We compute $2+3=5$, so the answer is $\\boxed{5}$.", "5", "\\boxed{5}", "\\boxed{6}"),  # MATH worked solution
    ("Thus there are $\\boxed{2}$ distinct values.", "2", "\\boxed{2}", "\\boxed{6}"),
    ("1. Solve:\n\\[\n\\boxed{\\frac{3}{4}}\n\\]", "\\frac{3}{4}", "$0.75$", "$\\frac{4}{3}$"),  # NuminaMath display
    ("First $\\boxed{1}$ fails; the answer is $\\boxed{\\{1, 2\\}}$.", "\\{1, 2\\}", "\\boxed{\\{2, 1\\}}", "\\boxed{1}"),  # last box
    ("She sold 48+24 = <<48+24=72>>72 clips.\n#### 72", "72", "\\boxed{72}", "\\boxed{24}"),  # GSM8K
    ("$125$ miles", "125", "\\boxed{125}", "\\boxed{12}"),  # a unit beside a math span
    ("125 miles", "125", "\\boxed{125}", "\\boxed{12}"),  # a unit in words
    ("12\\text{ inches}", "12\\text{ inches}", "\\boxed{12}", "\\boxed{144}"),  # a unit in a text group
    ("1/2 cup", "1/2", "\\boxed{0.5}", "\\boxed{2}"),
    ("12.5\\%", "12.5\\%", "\\boxed{12.5\\%}", "\\boxed{125}"),
    ("\\$18.90", "\\$18.90", "\\boxed{18.90}", "\\boxed{18.09}"),
    ("(0, 1]", "(0, 1]", "\\boxed{(0,1]}", "\\boxed{1}"),  # bare LaTeX: its own answer
]


@pytest.mark.parametrize(("gold", "answer", "right", "wrong"), GOLDS)
def test_a_gold_is_scored_by_the_answer_a_reader_finds_in_it(gold, answer, right, wrong):
    from grpo_rewards.gold import gold_answer

    assert gold_answer(gold) == answer
    assert call(MathAccuracy(), [f"hmm</think>{right}", f"hmm</think>{wrong}"], [gold, gold]) == [1.0, 0.0]


@pytest.mark.parametrize("gold", ["the answer is Paris", "five", "\\text{yes}", "We are done.", "$\\boxed{}$"])
def test_a_gold_without_an_answer_a_parser_can_find_is_none(gold):
    assert call(MathAccuracy(), ["hmm</think>\\boxed{5}", "hmm</think>\\text{Paris}"], [gold, gold]) == [None, None]


@pytest.mark.parametrize("unit", ["\\(", "\\[", "$", "\\boxed{", "{", "#### ", "word 1 "])
def test_reading_a_pathological_gold_is_bounded(unit):
    import time

    from grpo_rewards.gold import gold_answer

    # A longer gold is read in its last 10,000 characters; in them each span attempt stops at the next delimiter.
    gold = (unit * 10_000)[:10_000]
    started = time.perf_counter()
    gold_answer(gold)
    assert time.perf_counter() - started < 0.5
