"""Rewards of the DAPO tutorial: reasoning between ``<think>`` tags, then the final answer.

The reasoning tags are parameters (the training package may pass the tokenizer's own tokens).
Scores are the tutorial's; its bugs are fixed (see the package README's table).
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Reward, Score
from .gold import gold_number
from .text import ANSWER_CHARS, answer_after_reasoning, final_number, numbers_equal, parse_number, tail_for_answer

__all__ = ["AnswerCheck", "NumberCheck", "ThinkFormatApprox", "ThinkFormatExact"]

EXACT_FORMAT_SCORE = 3.0
TAG_SEEN_ONCE = 0.5
TAG_MISSING_OR_REPEATED = -1.0
ANSWER_EXACT, ANSWER_STRIPPED, ANSWER_WITHIN_10PCT, ANSWER_WITHIN_20PCT = 5.0, 3.5, 2.0, 1.5
ANSWER_WRONG, ANSWER_NOT_A_NUMBER, ANSWER_MISSING = -2.5, -4.5, -2.0
NUMBER_RIGHT, NUMBER_WRONG, NUMBER_MISSING = 3.5, -1.5, -2.5


@dataclass
class _ThinkReward(Reward):
    reasoning_start: str = "<think>"
    reasoning_end: str = "</think>"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.reasoning_end or not isinstance(self.reasoning_end, str):
            raise ValueError(f"reward {self.__name__!r}: reasoning_end must be a non-empty string, got {self.reasoning_end!r}")
        if not isinstance(self.reasoning_start, str):
            raise TypeError(f"reward {self.__name__!r}: reasoning_start must be a string, got {self.reasoning_start!r}")


@dataclass
class ThinkFormatExact(_ThinkReward):
    """3.0 when the reasoning end tag appears (what follows it is the answer), else 0.

    >>> ThinkFormatExact()(completions=["Let me think!</think>Hence, 2.", "no tag"])
    [3.0, 0.0]
    """

    __name__ = "think_format_exact"
    score_range = (0.0, EXACT_FORMAT_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return EXACT_FORMAT_SCORE if self.reasoning_end in text else 0.0


@dataclass
class ThinkFormatApprox(_ThinkReward):
    """+0.5 for each reasoning tag seen exactly once, -1.0 for each missing or repeated.

    When the chat template prefills ``<think>``, pass ``prefix="<think>"`` so the start tag is
    counted (the tutorial counted it in the completion only and so always took -1.0 for it).

    >>> ThinkFormatApprox(prefix="<think>")(completions=["hmm</think>2", "hmm</think></think>2"])
    [1.0, -0.5]
    """

    __name__ = "think_format_approx"
    score_range = (2 * TAG_MISSING_OR_REPEATED, 2 * TAG_SEEN_ONCE)

    def score(self, text: str, answer: str | None) -> Score:
        start_ok = (text.count(self.reasoning_start) == 1) if self.reasoning_start else True
        end_ok = text.count(self.reasoning_end) == 1
        return (TAG_SEEN_ONCE if start_ok else TAG_MISSING_OR_REPEATED) + (TAG_SEEN_ONCE if end_ok else TAG_MISSING_OR_REPEATED)


def _ratio_score(guess: str, gold: str) -> Score:
    gold_value = gold_number(gold)
    if gold_value is None:  # a gold that is not a number cannot be compared by ratio
        return None
    guess_value = parse_number(guess)
    if guess_value is None:
        return ANSWER_NOT_A_NUMBER
    if gold_value == 0:  # the tutorial divided by it and penalised every answer to a gold of 0
        ratio = 1.0 if guess_value == 0 else float("inf")
    else:
        ratio = guess_value / gold_value
    if 0.9 <= ratio <= 1.1:
        return ANSWER_WITHIN_10PCT
    if 0.8 <= ratio <= 1.2:
        return ANSWER_WITHIN_20PCT
    return ANSWER_WRONG


@dataclass
class AnswerCheck(_ThinkReward):
    """Grade the text after the reasoning end tag against the gold answer, with partial credit.

    5.0 identical; 3.5 identical after stripping whitespace; otherwise, when both read as
    numbers (:func:`~grpo_rewards.parse_number`: commas, currency, ``1.5e3``), 2.0 within 10 % of
    the gold, 1.5 within 20 %, -2.5 further; -4.5 when the answer is not a number; -2.0 when
    there is no end tag. A gold of 0 is matched by 0 (2.0) instead of raising
    ``ZeroDivisionError`` into the -4.5 penalty. ``None`` where the gold is ``None`` or, unless
    the answer is identical to it, not a number (a gold that cannot be understood is no score).

    >>> AnswerCheck()(completions=["hmm</think>72", "hmm</think> 72 ", "hmm</think>70", "hmm</think>0.0"],
    ...               answer=["72", "72", "72", "0"])
    [5.0, 3.5, 2.0, 2.0]
    """

    __name__ = "answer_check"
    score_range = (ANSWER_NOT_A_NUMBER, ANSWER_EXACT)
    needs_answer = True

    def score(self, text: str, answer: str | None) -> Score:
        if answer is None:
            return None
        guess = answer_after_reasoning(text, self.reasoning_end)
        if guess is None:
            return ANSWER_MISSING
        if guess == answer:
            return ANSWER_EXACT
        if guess.strip() == answer.strip():
            return ANSWER_STRIPPED
        return _ratio_score(guess, answer)


@dataclass
class NumberCheck(_ThinkReward):
    """3.5 when the final answer's number equals the gold number, -1.5 when it differs.

    The number is read after the reasoning end tag (inside the last ``\\boxed{}`` if any, else
    the last number there, in its last 10,000 characters); the tutorial took the first number
    anywhere, usually a step of the reasoning. -2.5 when there is no end tag or no number after it; 0.0 when the gold is not a
    number; ``None`` where the gold is ``None``.

    >>> NumberCheck()(completions=["3+4=7, 7*2=14</think>The answer is 14.", "2 apples</think>none"],
    ...               answer=["14", "14"])
    [3.5, -2.5]
    """

    __name__ = "number_check"
    score_range = (NUMBER_MISSING, NUMBER_RIGHT)
    needs_answer = True

    def score(self, text: str, answer: str | None) -> Score:
        if answer is None:
            return None
        gold = gold_number(answer)
        if gold is None:
            return None
        final = answer_after_reasoning(text, self.reasoning_end)
        guess = None if final is None else final_number(tail_for_answer(final, ANSWER_CHARS))
        if guess is None:
            return NUMBER_MISSING
        return NUMBER_RIGHT if numbers_equal(guess, gold) else NUMBER_WRONG
