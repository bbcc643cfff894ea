"""The language-consistency reward: tutorial examples, reasoning scope, malformed and empty input."""

from __future__ import annotations

import logging

import pytest
from reference import tutorial
from reward_helpers import call

from grpo_rewards import Language, detect_language

INDONESIAN = "Aku berpikir kalau aku adalah kamu. Jadi jawabannya adalah dua belas apel."
ENGLISH = "I think the answer is twelve apples because three boxes hold four each."
CHINESE = "我在这里思考这个问题，答案是十二个苹果。"
GERMAN = "Ich denke, die Antwort ist zwölf Äpfel, weil drei Kisten je vier enthalten."


def test_tutorial_get_lang_examples():
    assert detect_language("Hello, How are you") == tutorial.get_lang("Hello, How are you") == "en"
    assert detect_language("Aku berpikir kalau aku adalah kamu") == "id"
    assert detect_language("我在这里") == "zh"
    assert detect_language("") == tutorial.get_lang("") == "und"


def test_tutorial_reward_example():
    completions = [
        [{"role": "assistant", "content": "<think>The sum of 1 and 2 is 3, which we multiply by 4 to get 12.</think><answer>(1 + 2) * 4 = 12</answer>"}],
        [{"role": "assistant", "content": "The sum of 3 and 1 is 4, which we multiply by 2 to get 8. So (3 + 1) * 2 = 8."}],
    ]
    expected = tutorial.format_and_language_reward_func(completions=completions)
    assert expected == [-3.0, -3.0]
    assert Language()(completions=completions) == expected
    assert Language(scope="completion")(completions=completions) == expected


def test_scores():
    texts = [f"<think>{t}</think>12" for t in (INDONESIAN, ENGLISH, CHINESE, GERMAN, "")]
    assert call(Language(), texts) == [5.0, -3.0, -3.0, -5.0, -5.0]


def test_scores_the_reasoning_not_the_answer_by_default():
    # Indonesian reasoning, long English final answer: the tutorial scored the whole text.
    text = f"{INDONESIAN}</think>{ENGLISH} {ENGLISH} {ENGLISH}"
    assert call(Language(prefix="<think>"), [text]) == [5.0]
    assert call(Language(scope="completion"), [text]) == [-3.0]
    assert call(tutorial.format_and_language_reward_func, [text]) == [-3.0]


def test_target_is_a_parameter():
    assert call(Language(target="en"), [f"<think>{ENGLISH}</think>"]) == [5.0]
    assert call(Language(target="en"), [f"<think>{INDONESIAN}</think>"]) == [-5.0]


def test_candidate_languages_restrict_langid():
    text = "<think>Saya makan nasi</think>"  # short: langid alone may pick a neighbour language (ms, jv, ...)
    restricted = Language(candidate_languages=["id", "en", "zh"])
    assert call(restricted, [text, f"<think>{ENGLISH}</think>"]) == [5.0, -3.0]
    assert restricted.candidate_languages == ("id", "en", "zh")


def test_candidate_languages_must_include_target():
    with pytest.raises(ValueError, match="target 'id' is not among candidate_languages"):
        Language(candidate_languages=["en", "zh"])
    with pytest.raises(TypeError, match="list of codes"):
        Language(candidate_languages="id")
    with pytest.raises(ValueError, match="scope must be"):
        Language(scope="answer")
    with pytest.raises(TypeError, match="reasoning_end must be a string"):
        Language(reasoning_end=None)


@pytest.mark.parametrize(
    "completion",
    [[], [{"role": "assistant"}], [{"role": "assistant", "content": None}], ["not a message"], None, 42],
)
def test_malformed_completion_scores_minus_five_and_warns(completion, caplog):
    with caplog.at_level(logging.WARNING, logger="grpo_rewards"):
        scores = Language()(completions=[completion, [{"role": "assistant", "content": f"<think>{INDONESIAN}</think>"}]])
    assert scores == [-5.0, 5.0]
    assert any("malformed completion" in r.getMessage() for r in caplog.records)


def test_plain_string_completions():
    assert Language()(completions=[f"<think>{INDONESIAN}</think>1"]) == [5.0]
