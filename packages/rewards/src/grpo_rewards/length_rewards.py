"""Length and repetition rewards of TRL and open-r1: soft overlong punishment, cosine-scaled length, n-gram repetition.

``soft_overlong`` is TRL's ``get_soft_overlong_punishment`` (DAPO, eq. 13) on ``completion_ids``;
``repetition`` is open-r1's ``get_repetition_penalty_reward`` (lower-cased whitespace words);
``cosine`` is open-r1's ``get_cosine_scaled_reward`` with TRL's later fixes (length clamped at
``max_len``, ``None`` for a gold that cannot be understood).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .base import Reward, Score, gold_answers
from .gold import gold_number
from .text import (
    ANSWER_CHARS,
    answer_after_reasoning,
    completion_text,
    final_number,
    numbers_equal,
    parse_number,
    tail_for_answer,
)

__all__ = ["CosineScaled", "Repetition", "SoftOverlong", "completion_lengths"]


def completion_lengths(columns: dict[str, Any], count: int, reward_name: str) -> list[int] | None:
    """Token counts from TRL's ``completion_ids`` column; ``None`` when it was not passed.

    Raises:
        ValueError: when it does not hold one token list per completion.

    >>> completion_lengths({"completion_ids": [[1, 2, 3], []]}, 2, "soft_overlong")
    [3, 0]
    """
    ids = columns.get("completion_ids")
    if ids is None:
        return None
    if isinstance(ids, (str, bytes)) or len(ids) != count:
        raise ValueError(f"reward {reward_name!r}: completion_ids must hold one token list per completion ({count}), got {ids!r:.200}")
    return list(map(len, ids))


@dataclass
class SoftOverlong(Reward):
    """TRL's soft overlong punishment (DAPO eq. 13) on the completion's token count ``L``.

    0 while ``L <= max_completion_length - soft_punish_cache``; then falls linearly to -1 at
    ``max_completion_length``; -1 beyond. It reads TRL's ``completion_ids`` column (a
    ``ValueError`` names the columns when it is missing); it never rewards a short completion.

    Attributes:
        max_completion_length: ``L_max``, the generation budget in tokens (GRPOConfig's name).
        soft_punish_cache: ``L_cache``, the tokens before ``L_max`` where the punishment ramps up;
            0 punishes only completions longer than ``L_max``.

    >>> SoftOverlong(max_completion_length=100, soft_punish_cache=20)(completions=["a"] * 4,
    ...     completion_ids=[[1] * 80, [1] * 90, [1] * 100, [1] * 101])
    [0.0, -0.5, -1.0, -1.0]
    """

    max_completion_length: int = 256
    soft_punish_cache: int = 64

    __name__ = "soft_overlong"
    score_range = (-1.0, 0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.max_completion_length, int) or self.max_completion_length < 1:
            raise ValueError(f"reward 'soft_overlong': max_completion_length must be an int >= 1, got {self.max_completion_length!r}")
        if not isinstance(self.soft_punish_cache, int) or not 0 <= self.soft_punish_cache <= self.max_completion_length:
            raise ValueError(
                f"reward 'soft_overlong': soft_punish_cache must be an int in [0, max_completion_length={self.max_completion_length}], "
                f"got {self.soft_punish_cache!r}"
            )

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[Score]:
        if completions is None:
            raise TypeError("reward 'soft_overlong' was called without completions=")
        lengths = completion_lengths(columns, len(completions), self.__name__)
        if lengths is None:
            raise ValueError(
                "reward 'soft_overlong' counts tokens and needs TRL's completion_ids column; "
                f"the trainer passed only these columns: {sorted(columns)}"
            )
        safe_length, cache, longest = self.max_completion_length - self.soft_punish_cache, self.soft_punish_cache, self.max_completion_length
        scores: list[Score] = [  # (inlined punishment(): as fast as TRL's loop)
            0.0 if n <= safe_length else (safe_length - n) / cache if n <= longest else -1.0 for n in lengths
        ]
        if self.log_every:
            self._log_sample(prompts, [self.prefix + completion_text(c) for c in completions], None, scores)
        return scores

    def punishment(self, length: int) -> float:
        """The punishment of a completion of ``length`` tokens (TRL's formula)."""
        safe_length = self.max_completion_length - self.soft_punish_cache
        if length <= safe_length:
            return 0.0
        if length <= self.max_completion_length:
            return (safe_length - length) / self.soft_punish_cache
        return -1.0

    def score(self, text: str, answer: str | None) -> Score:
        raise TypeError("reward 'soft_overlong' scores token counts (completion_ids), not texts")


@dataclass
class Repetition(Reward):
    """open-r1's n-gram repetition penalty: ``max_penalty`` times the share of repeated word n-grams.

    Words are the lower-cased, whitespace-separated words of the completion. 0.0 for an empty
    completion or one of fewer than ``ngram_size`` words; ``(1 - unique/total) * max_penalty``
    otherwise, so a completion of one repeated n-gram approaches ``max_penalty``.

    Attributes:
        ngram_size: words per n-gram (open-r1's default 3).
        max_penalty: the most negative score (<= 0; open-r1's default -1.0).

    >>> Repetition(ngram_size=2)(completions=["a b c d", "go go go go go", ""])
    [0.0, -0.75, 0.0]
    """

    ngram_size: int = 3
    max_penalty: float = -1.0

    __name__ = "repetition"
    score_range: ClassVar[tuple[float, float]] = (-1.0, 0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.ngram_size, int) or self.ngram_size < 1:
            raise ValueError(f"reward 'repetition': ngram_size must be an int >= 1, got {self.ngram_size!r}")
        if not isinstance(self.max_penalty, (int, float)) or not -math.inf < self.max_penalty <= 0:
            raise ValueError(f"reward 'repetition': max_penalty must be a number <= 0, got {self.max_penalty!r}")
        self.max_penalty = float(self.max_penalty)
        self.score_range = (self.max_penalty, 0.0)

    def score(self, text: str, answer: str | None) -> Score:
        words = text.lower().split()
        size = self.ngram_size
        if len(words) < size:
            return 0.0
        total = len(words) - size + 1
        unique = len(set(zip(*[words[i:] for i in range(size)])))
        return (1 - unique / total) * self.max_penalty if unique < total else 0.0


@dataclass
class CosineScaled(Reward):
    """open-r1's cosine-scaled length reward: a right answer scores more the shorter it is, a wrong one less.

    With ``p = min(length / max_len, 1)`` and ``c = cos(p * pi)``, a right answer scores
    ``min_value_correct + (max_value_correct - min_value_correct) * (1 + c) / 2`` (1.0 when
    empty, 0.5 at ``max_len``), a wrong one ``max_value_wrong + (min_value_wrong - max_value_wrong) * (1 + c) / 2``
    (-1.0 when empty, -0.5 at ``max_len``). ``length`` is the token count when the trainer passes
    ``completion_ids`` (TRL), else the character count (open-r1). ``p`` is clamped at 1, as TRL
    does: open-r1's schedule climbs back up past ``max_len``.

    Right means: the number of the final answer (after ``reasoning_end``, in the last
    ``\\boxed{}`` or the last number) equals the gold number (``judge="number"``), or
    math-verify finds them equivalent (``judge="math"``, needs the ``[math]`` extra). ``None``
    where the gold is ``None`` or cannot be understood.

    Attributes:
        max_len: the length (tokens, or characters) where the schedule ends.
        min_value_wrong, max_value_wrong, min_value_correct, max_value_correct: the four bounds
            (open-r1's and TRL's defaults).
        judge: ``"number"`` or ``"math"``.
        reasoning_end: the answer is read after this tag (the whole completion when it is missing).
        require_reasoning_end: when True, a completion without ``reasoning_end`` scores 0.0.

    >>> CosineScaled(max_len=100)(completions=["x</think>42", "x</think>41"], answer=["42", "42"],
    ...                           completion_ids=[[1] * 50, [1] * 50])
    [0.75, -0.75]
    """

    max_len: int = 1000
    min_value_wrong: float = -1.0
    max_value_wrong: float = -0.5
    min_value_correct: float = 0.5
    max_value_correct: float = 1.0
    judge: Literal["number", "math"] = "number"
    reasoning_end: str = "</think>"
    require_reasoning_end: bool = False

    __name__ = "cosine"
    score_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    needs_answer = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.max_len, int) or self.max_len < 1:
            raise ValueError(f"reward 'cosine': max_len must be an int >= 1, got {self.max_len!r}")
        if self.judge not in ("number", "math"):
            raise ValueError(f"reward 'cosine': judge must be 'number' or 'math', got {self.judge!r}")
        if not isinstance(self.reasoning_end, str):
            raise TypeError(f"reward 'cosine': reasoning_end must be a string, got {self.reasoning_end!r}")
        bounds = (self.min_value_wrong, self.max_value_wrong, self.min_value_correct, self.max_value_correct)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in bounds):
            raise ValueError(f"reward 'cosine': the four value bounds must be finite numbers, got {bounds!r}")
        self.score_range = (float(min(bounds + (0.0,) * self.require_reasoning_end)),
                            float(max(bounds + (0.0,) * self.require_reasoning_end)))
        if self.judge == "math":
            from .math_reward import MathAccuracy

            self._math = MathAccuracy(reasoning_end=self.reasoning_end)

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[Score]:
        if completions is None:
            raise TypeError("reward 'cosine' was called without completions=")
        texts = [self.prefix + completion_text(c) for c in completions]
        answers = gold_answers(columns, len(texts), self.__name__)
        lengths = completion_lengths(columns, len(texts), self.__name__) or [len(t) for t in texts]
        scores = [self.score_length(t, a, n) for t, a, n in zip(texts, answers, lengths)]
        if self.log_every:
            self._log_sample(prompts, texts, answers, scores)
        return scores

    def correct(self, text: str, answer: str | None) -> bool | None:
        """Whether the final answer is right; ``None`` when the gold cannot be understood."""
        if answer is None:
            return None
        if self.judge == "math":
            verdict = self._math.score(text, answer)
            return None if verdict is None else verdict == 1.0
        gold = gold_number(answer)
        if gold is None:
            return None
        final = answer_after_reasoning(text, self.reasoning_end) if self.reasoning_end else None
        guess = final_number(tail_for_answer(text if final is None else final, ANSWER_CHARS))
        return guess is not None and numbers_equal(guess, gold)

    def scaled(self, correct: bool | None, length: int) -> Score:
        """The cosine-scheduled score of a right (True) or wrong (False) answer of ``length``."""
        if correct is None:
            return None
        cosine = math.cos(min(length / self.max_len, 1.0) * math.pi)
        if correct:
            low, high = self.min_value_correct, self.max_value_correct
        else:
            low, high = self.max_value_wrong, self.min_value_wrong
        return float(low + 0.5 * (high - low) * (1.0 + cosine))

    def score_length(self, text: str, answer: str | None, length: int) -> Score:
        """The score of one completion of ``length`` tokens (or characters)."""
        correct = self.correct(text, answer)
        if correct is None:
            return None
        if self.require_reasoning_end and self.reasoning_end not in text:
            return 0.0
        return self.scaled(correct, length)

    def score(self, text: str, answer: str | None) -> Score:
        return self.score_length(text, answer, len(text))
