"""compat="tutorial": the tutorials' own functions, bugs included, scored exactly as the
verbatim notebook copies in benchmarks/reference/tutorial.py, under the registry names."""

from __future__ import annotations

import contextlib
import io
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import tutorial
from reward_helpers import conv, prompt

from grpo_rewards import TUTORIAL_REWARDS, get_reward_funcs

TWINS = {
    "xmlcount": tutorial.xmlcount_reward_func,
    "soft_format": tutorial.soft_format_reward_func,
    "strict_format": tutorial.strict_format_reward_func,
    "integer": tutorial.int_reward_func,
    "correctness": tutorial.correctness_reward_func,
    "think_format_exact": tutorial.match_format_exactly,
    "think_format_approx": tutorial.match_format_approximately,
    "answer_check": tutorial.check_answer,
    "number_check": tutorial.check_numbers,
    "language": tutorial.format_and_language_reward_func,
}
COMMON = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
PIECES = ["<reasoning>", "</reasoning>", "<answer>", "</answer>", "<think>", "</think>", "\n", " ", "72", "72.0", "-3", "1,080",
          "0", "1e5", "x", "²", "Saya pikir", "the answer is", "\\boxed{7}", ".", ","]
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
golds = st.sampled_from(["72", "0", "-3", "1,080", "1080", "1e5", "abc", " 72 ", "7"])


def _theirs(name, texts_, answers):
    with contextlib.redirect_stdout(io.StringIO()):  # the notebooks print
        return TWINS[name](prompts=[prompt()] * len(texts_), completions=[conv(t) for t in texts_], answer=answers)


def test_compat_covers_every_tutorial_reward():
    assert sorted(TUTORIAL_REWARDS) == sorted(TWINS)


@pytest.mark.parametrize("name", sorted(set(TWINS) - {"language"}))
@pytest.mark.parametrize("examples", [pytest.param(150, id="quick"),  # the fast lane's; the full suite runs both
                                      pytest.param(1500, id="thorough", marks=pytest.mark.slow)])
def test_compat_scores_exactly_as_the_tutorial(name, examples):
    (ours,) = get_reward_funcs([name], compat="tutorial", prefix="<think>", log_every=3)

    @settings(max_examples=examples, **COMMON)
    @given(st.lists(st.tuples(texts, golds), min_size=1, max_size=4))
    def run(batch):
        texts_, answers = map(list, zip(*batch))
        scores = ours(prompts=[prompt()] * len(texts_), completions=[conv(t) for t in texts_], answer=answers,
                      completion_ids=[[1]] * len(texts_))
        theirs = _theirs(name, texts_, answers)
        assert scores == theirs and [type(s) for s in scores] == [type(s) for s in theirs]

    run()


def test_compat_language_scores_exactly_as_the_tutorial():
    (ours,) = get_reward_funcs(["language"], compat="tutorial")
    texts_ = ["Aku berpikir kalau aku adalah kamu", "I think this is the answer", "我在这里思考", "", "Saya pikir</think>The answer is 7"]
    assert ours(completions=[conv(t) for t in texts_]) == _theirs("language", texts_, ["7"] * len(texts_))
    malformed = [[], [{"role": "assistant"}], ["not a dict"]]
    assert ours(completions=malformed) == tutorial.format_and_language_reward_func(malformed) == [-5.0] * 3


def test_compat_keeps_the_tutorial_bugs_the_fixed_rewards_fix():
    fixed, compat = (get_reward_funcs(["correctness", "answer_check", "number_check"], compat=mode) for mode in (None, "tutorial"))
    text = "<reasoning>\n6 * 12\n</reasoning>\n<answer>\n72.0\n</answer>\n"
    assert fixed[0](completions=[conv(text)], answer=["72"]) == [2.0]
    assert compat[0](completions=[conv(text)], answer=["72"]) == [0.0]
    assert fixed[1](completions=[conv("x</think>0.0")], answer=["0"]) == [2.0]
    assert compat[1](completions=[conv("x</think>0.0")], answer=["0"]) == [-4.5]
    assert fixed[2](completions=[conv("3 + 4 = 7</think>14")], answer=["14"]) == [3.5]
    assert compat[2](completions=[conv("3 + 4 = 7</think>14")], answer=["14"]) == [-1.5]


def test_compat_rewards_are_named_and_picklable():
    for reward in get_reward_funcs(list(TWINS), compat="tutorial", reasoning_end="</think>"):
        clone = pickle.loads(pickle.dumps(reward))
        assert clone == reward and clone.__name__ in TWINS


def test_compat_refuses_rewards_the_tutorials_did_not_have():
    with pytest.raises(ValueError, match="no tutorial version"):
        get_reward_funcs(["math_accuracy"], compat="tutorial")
    with pytest.raises(ValueError, match="compat must be"):
        get_reward_funcs(["correctness"], compat="notebook")
    with pytest.raises(TypeError, match="does not take parameter 'prefix'"):
        get_reward_funcs([{"correctness": {"prefix": "<think>"}}], compat="tutorial")
