"""math_accuracy against TRL's own accuracy_reward on (gold, completion) pairs shaped like real data.

The pairs come from benchmarks/reference/accuracy_pairs.py (GSM8K, DAPO-Math, MATH/NuminaMath worked
solutions, units, percents, degrees, fractions, intervals, sets, thousands separators, scientific
notation, prose). Every pair where our score differs from TRL's must be listed in the rewards README's
table of documented differences, and every pair listed there must differ: a new disagreement fails.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from reference.accuracy_pairs import pairs

pytest.importorskip("math_verify", reason="math_accuracy needs the [math] extra (math-verify)")
trl_rewards = pytest.importorskip("trl.rewards", reason="TRL's accuracy_reward is the reference")

from grpo_rewards import MathAccuracy  # noqa: E402

README = Path(__file__).resolve().parents[2] / "packages" / "rewards" / "README.md"
PAIRS = list(pairs())


def difference_key(pair) -> str:
    """The README row a difference belongs to: a plain-text final answer, else the gold."""
    return "Answer: 72" if pair.completion_form.startswith("Answer: line") else pair.gold


def documented_differences() -> Counter:
    """{key: pairs} from the README table under "math_accuracy and TRL's accuracy_reward"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### math_accuracy and TRL's accuracy_reward", 1)[1]
    table = section.split("\n\n| ", 1)[1].split("\n\n", 1)[0]
    counts: Counter = Counter()
    for row in table.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        keys = re.findall(r"`([^`]+)`", cells[0])
        counts[" or ".join(keys)] = int(cells[1])
    return counts


@pytest.fixture(scope="module")
def scores():
    completions = [[{"role": "assistant", "content": p.completion}] for p in PAIRS]
    golds = [p.gold for p in PAIRS]
    with contextlib.redirect_stdout(io.StringIO()):
        trl = trl_rewards.accuracy_reward(completions, golds)
    ours = MathAccuracy()(completions=completions, answer=golds)
    return trl, ours


def test_pairs_are_many_and_cover_every_category():
    assert len(PAIRS) >= 300
    assert {p.category for p in PAIRS} >= {"gsm8k", "dapo", "math solution", "units", "percent", "degrees", "fractions",
                                           "intervals", "sets", "thousands", "scientific", "prose"}


def test_ours_gives_every_pair_the_verdict_a_reader_gives(scores):
    _, ours = scores
    wrong = [(p.gold, p.completion[-60:], p.expected, o) for p, o in zip(PAIRS, ours) if o != p.expected]
    assert wrong == []


@pytest.mark.parametrize(
    ("gold", "completion", "expected"),
    [
        ("We compute $2+3=5$, so the answer is $\\boxed{5}$.", "\\boxed{5}", 1.0),
        ("Thus there are $\\boxed{2}$ distinct values.", "\\boxed{6}", 0.0),
        ("$125$ miles", "\\boxed{125}", 1.0),
    ],
)
def test_worked_solutions_and_units_are_scored_as_trl_scores_them(gold, completion, expected):
    completions = [[{"role": "assistant", "content": completion}]]
    assert trl_rewards.accuracy_reward(completions, [gold]) == [expected]
    assert MathAccuracy()(completions=completions, answer=[gold]) == [expected]


def test_every_difference_from_trl_is_documented(scores):
    trl, ours = scores
    differences: Counter = Counter()
    for pair, t, o in zip(PAIRS, trl, ours):
        if t != o:
            differences[difference_key(pair)] += 1
    documented = documented_differences()
    grouped: Counter = Counter()
    for row, count in documented.items():
        keys = row.split(" or ")
        grouped[row] = sum(differences.pop(key, 0) for key in keys)
    assert differences == Counter(), "differences from TRL not documented in the rewards README"
    assert grouped == documented
