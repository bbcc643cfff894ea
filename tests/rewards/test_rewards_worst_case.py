"""Pathological completions: every reward bounds the text it works on, and no log record holds a whole
completion. Times are measured in benchmarks/rewards_worst_case.py, not asserted here;
these tests pin the bounds that make those times small.
"""

from __future__ import annotations

import logging

import pytest
from reward_helpers import call

from grpo_rewards import REWARDS, get_reward_funcs

MEGABYTE = 1 << 20
# The documented bounds (packages/rewards/README.md, "Reliability").
MATH_CHARS, ANSWER_CHARS, LANGUAGE_CHARS, LOG_RECORD_CHARS = 1_000, 10_000, 20_000, 2_500


def test_math_verify_sees_only_a_bounded_tail(monkeypatch):
    math_verify = pytest.importorskip("math_verify")
    seen, real = [], math_verify.parse

    def spy(pred, *args, **kwargs):
        seen.append(len(pred))
        return real(pred, *args, **kwargs) if len(pred) < 10 else []  # the gold parses

    monkeypatch.setattr(math_verify, "parse", spy)
    from grpo_rewards import MathAccuracy
    from grpo_rewards.math_reward import _parse_gold

    _parse_gold.cache_clear()
    # 5,000 characters of this take math-verify's regexes 10 s, a few hundred KB hours.
    call(MathAccuracy(), ["x</think>" + "\\[\\boxed{" * 100_000], ["1"])
    _parse_gold.cache_clear()
    assert seen and max(seen) <= MATH_CHARS


def test_math_accuracy_still_reads_the_answer_at_the_end_of_a_long_completion():
    pytest.importorskip("math_verify")
    from grpo_rewards import MathAccuracy

    long_final = "Let me check once more: 6 * 7 = 42.\n" * 30_000 + "So the answer is $\\boxed{42}$."
    assert call(MathAccuracy(), ["x</think>" + long_final, "x</think>" + long_final], ["42", "41"]) == [1.0, 0.0]
    assert call(MathAccuracy(), ["\\[\\boxed{" * 100_000], ["1"]) == [0.0]


def test_a_math_verify_timeout_does_not_log_the_completion(monkeypatch, caplog):
    pytest.importorskip("math_verify")
    import math_verify.parser
    from math_verify.errors import TimeoutException

    from grpo_rewards import MathAccuracy
    from grpo_rewards.math_reward import _parse_gold

    real = math_verify.parser.extract_target_from_pred

    def times_out_on_long_text(pred, *args, **kwargs):
        if len(pred) > 50:
            raise TimeoutException("Operation timed out!")
        return real(pred, *args, **kwargs)

    monkeypatch.setattr(math_verify.parser, "extract_target_from_pred", times_out_on_long_text)
    _parse_gold.cache_clear()
    caplog.set_level(logging.DEBUG)
    assert call(MathAccuracy(), ["x</think>" + "a b " * MEGABYTE], ["1"]) == [0.0]
    _parse_gold.cache_clear()
    assert caplog.records and max(len(r.getMessage()) for r in caplog.records) <= LOG_RECORD_CHARS


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_log_records_never_hold_a_whole_completion(name, caplog):
    if name == "math_accuracy":
        pytest.importorskip("math_verify")
    (reward,) = get_reward_funcs([name], log_every=1)
    huge = "<think>" + "Kita hitung apel. " * (MEGABYTE // 18) + "</think>\\boxed{1}"
    caplog.set_level(logging.DEBUG)
    reward(prompts=[[{"role": "user", "content": "q" * MEGABYTE}]], completions=[[{"role": "assistant", "content": huge}]],
           answer=["1" * 10_000], completion_ids=[[1] * 10])
    assert caplog.records, "log_every=1 logs the first completion"
    assert max(len(r.getMessage()) for r in caplog.records) <= LOG_RECORD_CHARS


def test_language_classifies_a_bounded_sample(monkeypatch):
    import grpo_rewards.language_reward as language_reward

    seen = []
    monkeypatch.setattr(language_reward, "detect_language", lambda text, candidates=None: seen.append(len(text)) or "id")
    reward = language_reward.Language()
    assert call(reward, ["<think>" + "Kita hitung apel. " * MEGABYTE + "</think>2"]) == [5.0]
    assert call(language_reward.Language(scope="completion"), ["x" * 4 * MEGABYTE]) == [5.0]
    assert max(seen) <= LANGUAGE_CHARS + 8


def test_language_sample_covers_the_whole_reasoning():
    # Indonesian for the first 5 %, English for the rest: the sample is mostly English.
    from grpo_rewards import Language

    text = "Kita hitung jumlah apel di setiap kotak. " * 1_000 + "We count the apples in every box and add them up. " * 20_000
    assert call(Language(scope="completion"), [text]) == [-3.0]


def test_number_rewards_read_numbers_only_in_a_bounded_tail(monkeypatch):
    import grpo_rewards.think_rewards as think_rewards
    import grpo_rewards.xml_rewards as xml_rewards

    seen = []
    real_final, real_last = think_rewards.final_number, xml_rewards.last_number
    monkeypatch.setattr(think_rewards, "final_number", lambda text: seen.append(len(text)) or real_final(text))
    monkeypatch.setattr(xml_rewards, "last_number", lambda text: seen.append(len(text)) or real_last(text))
    digits = "1," * (2 * MEGABYTE)
    assert call(think_rewards.NumberCheck(), ["x</think>" + digits + " so 42"], ["42"]) == [3.5]
    assert call(xml_rewards.Correctness(), ["<answer>" + digits + " so 42</answer>"], ["42"]) == [2.0]
    assert len(seen) == 2 and max(seen) <= ANSWER_CHARS
