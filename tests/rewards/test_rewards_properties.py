"""Property tests: hostile text never raises and every score stays in the reward's documented range."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from reference.hostile_inputs import batches, check_scores

from grpo_rewards import REWARDS, get_reward_funcs

# A few thousand examples per reward; math-verify (sympy) is ~100x slower per text, so fewer there.
EXAMPLES = {name: 2000 for name in REWARDS} | {"language": 1000, "math_accuracy": 150}
COMMON = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


# The fast lane (`-m "not slow"`) runs a tenth of each budget; the full suite runs both.
BUDGETS = [pytest.param(10, id="quick"), pytest.param(1, id="thorough", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", sorted(REWARDS))
@pytest.mark.parametrize("prefix", ["", "<think>"])
@pytest.mark.parametrize("fraction", BUDGETS)
def test_never_raises_and_stays_in_range(name, prefix, fraction):
    if name == "math_accuracy":
        pytest.importorskip("math_verify")
    (reward,) = get_reward_funcs([name], prefix=prefix)

    @settings(max_examples=EXAMPLES[name] // 2 // fraction, **COMMON)
    @given(batches)
    def run(batch):
        check_scores(reward, batch)

    run()


LONE_SURROGATES = ["\ud800", "\udfff", "Aku berpikir \ud800 dua belas", "<think>\udc80</think>\\boxed{72}", "<answer>\ud83d</answer>"]


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_lone_surrogates_never_raise(name):
    # A Python str may hold a lone surrogate, which strict UTF-8 encoding refuses.
    if name == "math_accuracy":
        pytest.importorskip("math_verify")
    (reward,) = get_reward_funcs([name])
    batch = [(text, gold) for text in LONE_SURROGATES for gold in ("72", "\ud800")]
    assert check_scores(reward, batch) == len(batch)
