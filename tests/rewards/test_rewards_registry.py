"""The registry and the contract other packages rely on: names, params, pickling, TRL's call."""

from __future__ import annotations

import inspect
import pickle

import pytest
from reward_helpers import call, conv, prompt, xml

import grpo_rewards
from grpo_rewards import REWARDS, get_reward_funcs, reward_params

NAMES = [
    "xmlcount", "soft_format", "strict_format", "integer", "correctness",
    "think_format_exact", "think_format_approx", "answer_check", "number_check",
    "language", "math_accuracy",
    "soft_overlong", "repetition", "cosine", "think_answer_format", "think_answer_tag_count",
]


def test_registry_names_are_exactly_the_contract():
    assert sorted(REWARDS) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_name_resolves_pickles_and_is_named(name):
    (reward,) = get_reward_funcs([name])
    assert reward.__name__ == name
    lo, hi = reward.score_range
    assert lo < hi
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == name and clone == reward
    assert not inspect.isfunction(reward)  # a module-level class instance, not a closure


@pytest.mark.parametrize("name", NAMES)
def test_called_like_trl(name):
    (reward,) = get_reward_funcs([name])
    text = xml("3 * 4 = 12", "12") + "</think>12"
    scores = reward(
        prompts=[prompt()] * 2,
        completions=[conv(text), conv("")],
        completion_ids=[[1, 2, 3], []],
        trainer_state=object(),
        answer=["12", "12"],
        question=["q", "q"],
    )
    assert len(scores) == 2
    assert all(isinstance(s, float) for s in scores)


def test_shared_params_go_only_to_rewards_that_take_them():
    funcs = get_reward_funcs(["xmlcount", "think_format_approx", "language"], prefix="<think>", reasoning_end="</think>", log_every=3)
    assert [f.prefix for f in funcs] == ["<think>"] * 3
    assert [f.log_every for f in funcs] == [3] * 3
    assert not hasattr(funcs[0], "reasoning_end")
    assert funcs[1].reasoning_end == "</think>"


def test_per_reward_params_win_over_shared():
    xmlcount, language = get_reward_funcs(
        [{"xmlcount": {"prefix": "<reasoning>\n"}}, {"language": {"target": "en", "scope": "completion"}}], prefix=""
    )
    assert xmlcount.prefix == "<reasoning>\n"
    assert (language.target, language.scope, language.prefix) == ("en", "completion", "")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown reward 'corectness'; valid names: xmlcount, .*math_accuracy"):
        get_reward_funcs(["corectness"])


def test_unknown_per_reward_param_names_reward_and_param():
    with pytest.raises(TypeError, match=r"reward 'soft_format' does not take parameter 'target'"):
        get_reward_funcs([{"soft_format": {"target": "id"}}])


def test_malformed_entries():
    with pytest.raises(TypeError, match="one-key mapping"):
        get_reward_funcs([{"xmlcount": {}, "integer": {}}])
    with pytest.raises(ValueError, match="log_every must be an int >= 0"):
        get_reward_funcs(["xmlcount"], log_every=-1)


def test_a_single_name_is_accepted():
    assert [f.__name__ for f in get_reward_funcs("integer")] == ["integer"]


def test_reward_params():
    assert reward_params("language") == ["prefix", "log_every", "target", "scope", "candidate_languages", "reasoning_start", "reasoning_end"]


def test_logging_is_off_by_default_and_rate_limited(caplog):
    correctness = get_reward_funcs(["correctness"])[0]
    with caplog.at_level("INFO", logger="grpo_rewards"):
        for _ in range(5):
            call(correctness, [xml("a", "72")], ["72"])
    assert not caplog.records
    every_other = get_reward_funcs(["correctness"], log_every=2)[0]
    with caplog.at_level("INFO", logger="grpo_rewards"):
        for _ in range(5):
            call(every_other, [xml("a", "72")], ["72"])
    assert len(caplog.records) == 3
    assert all(r.name == "grpo_rewards" for r in caplog.records)


def test_public_helpers_are_exported():
    assert grpo_rewards.extract_xml_answer("<answer> 7 </answer>") == "7"
    assert grpo_rewards.parse_number("$1,080.0") == 1080.0
    assert grpo_rewards.completion_text(conv("hi")) == grpo_rewards.completion_text("hi") == "hi"
    assert grpo_rewards.reasoning_text("<think>r</think>a") == "r"


def test_called_without_completions():
    with pytest.raises(TypeError, match="without completions"):
        get_reward_funcs(["integer"])[0](prompts=[])
