"""The peers' standard rewards: TRL's soft overlong punishment, open-r1's repetition penalty,
cosine-scaled length reward, <think>/<answer> format and tag count, and require_reasoning_end on the answer
rewards. Each is checked against the verbatim peer function (benchmarks/reference/peers.py)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import peers as peer
from reward_helpers import call, conv, xml

from grpo_rewards import (
    Correctness,
    CosineScaled,
    Repetition,
    SoftOverlong,
    ThinkAnswerFormat,
    ThinkAnswerTagCount,
    get_reward_funcs,
)

COMMON = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
PIECES = ["<think>", "</think>", "<answer>", "</answer>", "\n", " ", "x", "4", "go", "Go", "\n\n", "<think>\n", "\n</answer>"]
texts = st.lists(st.sampled_from(PIECES), max_size=20).map("".join)

FORMAT_CASES = [
    "<think>\nhmm\n</think>\n<answer>\n4\n</answer>",
    "<think>\n\n</think>\n<answer>\n\n</answer>",
    "<think>\nhmm\n</think>\n<answer>\n4\n</answer>\nmore",
    "<think>\nhmm\n</think>\n<answer>\n4\n</answer> more",
    "<think>\nhmm\n</think>\n<answer>\n4\n</answer>x\n</answer>",
    "<think>\na\n</think>\n<answer>\nb\n</think>\n<answer>\nc\n</answer>",
    "<think>hmm</think><answer>4</answer>",
    " <think>\nhmm\n</think>\n<answer>\n4\n</answer>",
    "",
]


@pytest.mark.parametrize("text", FORMAT_CASES)
def test_think_answer_format_and_tag_count_match_open_r1(text):
    assert call(ThinkAnswerFormat(), [text]) == peer.format_reward([conv(text)])
    assert call(ThinkAnswerTagCount(), [text]) == peer.tag_count_reward([conv(text)])


def budgets(examples: int) -> list:
    """The fast lane (`-m "not slow"`) runs a tenth of the examples; the full suite runs both."""
    return [pytest.param(examples // 10, id="quick"), pytest.param(examples, id="thorough", marks=pytest.mark.slow)]


@pytest.mark.parametrize("examples", budgets(3000))
def test_think_answer_format_matches_open_r1_on_tag_soup(examples):
    @settings(max_examples=examples, **COMMON)
    @given(texts)
    def run(text):
        assert call(ThinkAnswerFormat(), [text]) == peer.format_reward([conv(text)])
        assert call(ThinkAnswerTagCount(), [text]) == peer.tag_count_reward([conv(text)])

    run()


def test_prefilled_think_tag():
    text = "hmm\n</think>\n<answer>\n4\n</answer>"
    assert call(ThinkAnswerFormat(prefix="<think>\n"), [text]) == [1.0]
    assert call(ThinkAnswerFormat(), [text]) == [0.0]


@pytest.mark.parametrize(("ngram_size", "max_penalty"), [(1, -1.0), (2, -1.0), (3, -1.0), (3, -0.5), (5, -2.0)])
@pytest.mark.parametrize("text", ["", "a", "a b c d", "go go go go go", "The cat. the CAT. the cat.", "x\ny\tx y x y"])
def test_repetition_matches_open_r1(text, ngram_size, max_penalty):
    ours = call(Repetition(ngram_size=ngram_size, max_penalty=max_penalty), [text])
    theirs = peer.get_repetition_penalty_reward(ngram_size, max_penalty)([conv(text)])
    assert ours == pytest.approx(theirs) and -max_penalty >= 0 and max_penalty <= ours[0] <= 0.0


@pytest.mark.parametrize("examples", budgets(2000))
def test_repetition_matches_open_r1_on_random_text(examples):
    @settings(max_examples=examples, **COMMON)
    @given(texts, st.integers(1, 4))
    def run(text, ngram_size):
        assert call(Repetition(ngram_size=ngram_size), [text]) == pytest.approx(peer.get_repetition_penalty_reward(ngram_size, -1.0)([conv(text)]))

    run()


@pytest.mark.parametrize(("cache", "lengths"), [(20, [0, 79, 80, 81, 90, 99, 100, 101, 500]), (0, [0, 99, 100, 101])])
def test_soft_overlong_matches_trl(cache, lengths):
    ids = [[7] * n for n in lengths]
    ours = SoftOverlong(max_completion_length=100, soft_punish_cache=cache)(completions=["x"] * len(ids), completion_ids=ids)
    assert ours == peer._SoftOverlongPunishment(100, cache)(ids)
    assert all(-1.0 <= s <= 0.0 for s in ours)


def test_soft_overlong_needs_completion_ids_and_valid_bounds():
    with pytest.raises(ValueError, match="completion_ids"):
        SoftOverlong()(completions=["x"], answer=["1"])
    with pytest.raises(ValueError, match="soft_punish_cache"):
        SoftOverlong(max_completion_length=10, soft_punish_cache=11)
    with pytest.raises(ValueError, match="max_completion_length"):
        SoftOverlong(max_completion_length=0)


@pytest.mark.parametrize("length", [0, 1, 250, 500, 999, 1000, 1001, 5000])
@pytest.mark.parametrize("correct", [True, False])
def test_cosine_matches_trl_schedule_on_tokens(length, correct):
    final = "42" if correct else "41"
    ours = CosineScaled()(completions=[f"x</think>{final}"], answer=["42"], completion_ids=[[1] * length])
    assert ours == [pytest.approx(peer.cosine_schedule(correct, length, 1000))]


def test_cosine_counts_characters_without_completion_ids_and_clamps_past_max_len():
    short, long = "x</think>42", "x" * 5000 + "</think>42"
    assert call(CosineScaled(max_len=100), [short, long], ["42", "42"]) == [
        pytest.approx(peer.cosine_schedule(True, len(short), 100)), pytest.approx(0.5)]
    # open-r1 does not clamp: a 2 x max_len right answer would climb back to 1.0.
    assert call(CosineScaled(max_len=100), ["x" * 191 + "</think>42"], ["42"]) == [pytest.approx(0.5)]


def test_cosine_gold_that_cannot_be_understood_is_none():
    # open-r1 scored an unparseable gold 1.0; TRL and we skip it.
    assert call(CosineScaled(), ["x</think>42", "x</think>42"], ["forty-two", None]) == [None, None]


def test_cosine_with_math_verify():
    pytest.importorskip("math_verify")
    reward = CosineScaled(judge="math", max_len=100)
    scores = reward(completions=["x</think>$\\boxed{\\frac{1}{3}}$", "x</think>$\\boxed{\\frac{1}{2}}$"], answer=["\\frac{1}{3}"] * 2,
                    completion_ids=[[1] * 50, [1] * 50])
    assert scores == [pytest.approx(0.75), pytest.approx(-0.75)]  # TRL's docstring example
    assert pickle.loads(pickle.dumps(reward)) == reward


def test_require_reasoning_end_scores_unfinished_reasoning_zero():
    unfinished = "<reasoning>\n6 * 12 = 72, so\n<answer>\n72\n</answer>"
    assert call(Correctness(), [unfinished, xml("6*12", "72")], ["72", "72"]) == [2.0, 2.0]
    assert call(Correctness(require_reasoning_end=True), [unfinished, xml("6*12", "72")], ["72", "72"]) == [0.0, 2.0]
    assert call(Correctness(require_reasoning_end=True), [unfinished], [None]) == [None]
    cosine = CosineScaled(require_reasoning_end=True, max_len=100)
    assert call(cosine, ["thinking 42", "x</think>42"], ["42", "42"]) == [0.0, pytest.approx(peer.cosine_schedule(True, len("x</think>42"), 100))]


def test_math_accuracy_require_reasoning_end():
    pytest.importorskip("math_verify")
    from grpo_rewards import MathAccuracy

    texts = ["still thinking... $\\boxed{42}$", "done</think>$\\boxed{42}$"]
    assert call(MathAccuracy(), texts, ["42", "42"]) == [1.0, 1.0]
    assert call(MathAccuracy(require_reasoning_end=True), texts, ["42", "42"]) == [0.0, 1.0]


@pytest.mark.parametrize("name", ["soft_overlong", "repetition", "cosine", "think_answer_format", "think_answer_tag_count"])
def test_registered_picklable_and_in_range(name):
    (reward,) = get_reward_funcs([name], log_every=0)
    clone = pickle.loads(pickle.dumps(reward))
    assert clone == reward and clone.__name__ == name
    scores = reward(completions=[conv("<think>\nx\n</think>\n<answer>\n4\n</answer>"), conv("go go go go")], answer=["4", "4"],
                    completion_ids=[[1] * 10, [1] * 300])
    lo, hi = reward.score_range
    assert all(s is None or lo <= s <= hi for s in scores)


def test_repetition_range_follows_max_penalty():
    assert Repetition(max_penalty=-2.0).score_range == (-2.0, 0.0)
    with pytest.raises(ValueError, match="max_penalty"):
        Repetition(max_penalty=0.5)
