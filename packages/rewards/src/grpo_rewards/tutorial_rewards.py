"""The tutorials' own reward functions, bugs included: ``get_reward_funcs(names, compat="tutorial")``.

Use them to lay a run's reward curves beside the tutorials' logs: each scores exactly as the
Unsloth notebook's function does (tested against the verbatim copies), under the same registry
name, so TRL logs ``rewards/<name>/mean`` as for the fixed rewards. What the package README's
"Tutorial behaviour vs ours" table lists as bugs is kept here on purpose. Two differences, neither
a score: the notebooks' ``print`` calls are left out (use ``log_every`` on the fixed rewards), and
a plain-string completion is read as its text where the notebooks raised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["TUTORIAL_REWARDS"]


def _content(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[0]["content"]


def _extract_xml_answer(text: str) -> str:
    answer = text.split("<answer>")[-1]
    answer = answer.split("</answer>")[0]
    return answer.strip()


def _count_xml(text: str) -> float:
    count = 0.0
    if text.count("<reasoning>\n") == 1:
        count += 0.125
    if text.count("\n</reasoning>\n") == 1:
        count += 0.125
    if text.count("\n<answer>\n") == 1:
        count += 0.125
        count -= len(text.split("\n</answer>\n")[-1]) * 0.001
    if text.count("\n</answer>") == 1:
        count += 0.125
        count -= (len(text.split("\n</answer>")[-1]) - 1) * 0.001
    return count


@dataclass
class _TutorialReward:
    """A tutorial reward: called as ``f(prompts=..., completions=..., answer=..., **columns)``."""

    __name__: ClassVar[str] = "tutorial"
    score_range: ClassVar[tuple[float, float]] = (float("-inf"), float("inf"))
    needs_answer: ClassVar[bool] = False
    compat: ClassVar[str] = "tutorial"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[float]:
        if completions is None:
            raise TypeError(f"reward {self.__name__!r} was called without completions=")
        responses = [_content(c) for c in completions]
        if self.needs_answer:
            return self.scores(responses, columns["answer"])
        return self.scores(responses, None)

    def scores(self, responses: list[str], answer: Sequence[str] | None) -> list[float]:
        raise NotImplementedError


@dataclass
class TutorialXmlCount(_TutorialReward):
    """Tutorial 1's ``xmlcount_reward_func``.

    >>> [round(s, 3) for s in TutorialXmlCount()(completions=["<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>"])]
    [0.454]
    """

    __name__ = "xmlcount"

    def scores(self, responses, answer):
        return [_count_xml(r) for r in responses]


@dataclass
class TutorialSoftFormat(_TutorialReward):
    """Tutorial 1's ``soft_format_reward_func`` (``re.match`` without DOTALL: one-line reasoning only)."""

    __name__ = "soft_format"
    score_range = (0.0, 0.5)

    def scores(self, responses, answer):
        pattern = r"<reasoning>.*?</reasoning>\s*<answer>.*?</answer>"
        return [0.5 if re.match(pattern, r) else 0.0 for r in responses]


@dataclass
class TutorialStrictFormat(_TutorialReward):
    """Tutorial 1's ``strict_format_reward_func``."""

    __name__ = "strict_format"
    score_range = (0.0, 0.5)

    def scores(self, responses, answer):
        pattern = r"^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$"
        return [0.5 if re.match(pattern, r) else 0.0 for r in responses]


@dataclass
class TutorialInteger(_TutorialReward):
    """Tutorial 1's ``int_reward_func`` (``str.isdigit``)."""

    __name__ = "integer"
    score_range = (0.0, 0.5)

    def scores(self, responses, answer):
        return [0.5 if _extract_xml_answer(r).isdigit() else 0.0 for r in responses]


@dataclass
class TutorialCorrectness(_TutorialReward):
    """Tutorial 1's ``correctness_reward_func`` (string equality).

    >>> TutorialCorrectness()(completions=["<answer>\\n72\\n</answer>", "<answer>\\n72.0\\n</answer>"], answer=["72", "72"])
    [2.0, 0.0]
    """

    __name__ = "correctness"
    score_range = (0.0, 2.0)
    needs_answer = True

    def scores(self, responses, answer):
        return [2.0 if _extract_xml_answer(r) == a else 0.0 for r, a in zip(responses, answer)]


@dataclass
class _TutorialThink(_TutorialReward):
    reasoning_start: str = "<think>"
    reasoning_end: str = "</think>"

    def _match_format(self) -> re.Pattern[str]:
        return re.compile(rf"{self.reasoning_end}(.*)", re.DOTALL)  # unescaped, as in the notebook


@dataclass
class TutorialThinkFormatExact(_TutorialThink):
    """Tutorial 2's ``match_format_exactly``."""

    __name__ = "think_format_exact"
    score_range = (0.0, 3.0)

    def scores(self, responses, answer):
        match_format = self._match_format()
        return [3.0 if match_format.search(r) is not None else 0 for r in responses]


@dataclass
class TutorialThinkFormatApprox(_TutorialThink):
    """Tutorial 2's ``match_format_approximately`` (counts the prefilled start tag in the completion)."""

    __name__ = "think_format_approx"
    score_range = (-2.0, 1.0)

    def scores(self, responses, answer):
        return [
            (0.5 if r.count(self.reasoning_start) == 1 else -1.0) + (0.5 if r.count(self.reasoning_end) == 1 else -1.0)
            for r in responses
        ]


@dataclass
class TutorialAnswerCheck(_TutorialThink):
    """Tutorial 2's ``check_answer`` (a gold of 0 divides by zero into -4.5).

    >>> TutorialAnswerCheck()(completions=["x</think>0.0", "x</think>70"], answer=["0", "72"])
    [-4.5, 2.0]
    """

    __name__ = "answer_check"
    score_range = (-4.5, 5.0)
    needs_answer = True

    def scores(self, responses, answer):
        match_format = self._match_format()
        scores = []
        for r, true_answer in zip(responses, answer):
            guess = match_format.search(r)
            if guess is None:
                scores.append(-2.0)
                continue
            guess = guess.group(1)
            if guess == true_answer:
                scores.append(5.0)
            elif guess.strip() == true_answer.strip():
                scores.append(3.5)
            else:
                try:
                    ratio = float(guess) / float(true_answer)
                    scores.append(2.0 if 0.9 <= ratio <= 1.1 else 1.5 if 0.8 <= ratio <= 1.2 else -2.5)
                except Exception:  # the notebook's bare except
                    scores.append(-4.5)
        return scores


_MATCH_NUMBERS = re.compile(r".*?[\s]{0,}([-]?[\d\.\,]{1,})", flags=re.MULTILINE | re.DOTALL)


@dataclass
class TutorialNumberCheck(_TutorialThink):
    """Tutorial 2's ``check_numbers`` (the first number anywhere in the completion).

    >>> TutorialNumberCheck()(completions=["3 + 4 = 7</think>14"], answer=["14"])
    [-1.5]
    """

    __name__ = "number_check"
    score_range = (-2.5, 3.5)
    needs_answer = True

    def scores(self, responses, answer):
        scores = []
        for r, true_answer in zip(responses, answer):
            guess = _MATCH_NUMBERS.search(r)
            if guess is None:
                scores.append(-2.5)
                continue
            try:
                gold = float(true_answer.strip())
                value = float(guess.group(1).strip().replace(",", ""))
                scores.append(3.5 if value == gold else -1.5)
            except Exception:  # the notebook's bare except
                scores.append(0)
        return scores


@dataclass
class TutorialLanguage(_TutorialReward):
    """Tutorial 2's ``format_and_language_reward_func`` (langid of the whole completion)."""

    __name__ = "language"
    score_range = (-5.0, 5.0)

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[float]:
        if completions is None:
            raise TypeError("reward 'language' was called without completions=")
        import langid

        scores = []
        for item in completions:
            if isinstance(item, str):
                item = [{"content": item}]
            if not item or not isinstance(item[0], dict) or "content" not in item[0]:
                scores.append(-5.0)
                continue
            content = item[0]["content"]
            lang = langid.classify(content)[0] if content else "und"
            scores.append(5.0 if lang == "id" else -3.0 if lang in ("en", "zh") else -5.0)
        return scores


TUTORIAL_REWARDS: dict[str, type[_TutorialReward]] = {
    cls.__dict__["__name__"]: cls
    for cls in (
        TutorialXmlCount, TutorialSoftFormat, TutorialStrictFormat, TutorialInteger, TutorialCorrectness,
        TutorialThinkFormatExact, TutorialThinkFormatApprox, TutorialAnswerCheck, TutorialNumberCheck, TutorialLanguage,
    )
}
