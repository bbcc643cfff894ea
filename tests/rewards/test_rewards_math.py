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
