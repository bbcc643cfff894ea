"""The shape every reward shares: a picklable callable object in TRL's calling convention."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .text import completion_text, prompt_text, shorten_for_log

logger = logging.getLogger("grpo_rewards")

Score = float | None


@dataclass
class Reward:
    """Base class of all rewards; subclasses implement :meth:`score` for one completion text.

    An instance is what TRL's ``GRPOTrainer(reward_funcs=[...])`` takes: it is called as
    ``reward(prompts=..., completions=..., **columns)``, returns one score per completion, has
    ``__name__`` (TRL logs rewards under it) and ``score_range`` (the closed interval every
    non-``None`` score lies in), and pickles (it holds plain fields only).

    Attributes:
        prefix: text the prompt already ends with (e.g. ``"<think>"`` prefilled after the
            generation prompt); the completion is scored as if it began with it.
        log_every: log question, gold answer, response and score of the first completion on
            every ``log_every``-th call to the ``grpo_rewards`` logger at INFO; 0 never logs.
            Texts longer than 600 characters are logged as their two ends (a record stays small
            whatever the model wrote).
    """

    prefix: str = ""
    log_every: int = 0
    _calls: int = field(default=0, init=False, repr=False, compare=False)

    __name__: ClassVar[str] = "reward"
    score_range: ClassVar[tuple[float, float]] = (float("-inf"), float("inf"))
    needs_answer: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str):
            raise TypeError(f"reward {self.__name__!r}: prefix must be a string, got {self.prefix!r}")
        if not isinstance(self.log_every, int) or self.log_every < 0:
            raise ValueError(f"reward {self.__name__!r}: log_every must be an int >= 0, got {self.log_every!r}")

    def score(self, text: str, answer: str | None) -> Score:
        """Score one completion text (prefix included) against its gold answer (if any)."""
        raise NotImplementedError

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **columns: Any) -> list[Score]:
        if completions is None:
            raise TypeError(f"reward {self.__name__!r} was called without completions=")
        prefix = self.prefix
        if prefix:
            texts = [prefix + completion_text(c) for c in completions]
        else:
            texts = [completion_text(c) for c in completions]
        if self.needs_answer:
            answers = gold_answers(columns, len(texts), self.__name__)
            scores = [self.score(t, a) for t, a in zip(texts, answers)]
        else:
            answers = None
            score = self.score
            scores = [score(t, None) for t in texts]
        if self.log_every:
            self._log_sample(prompts, texts, answers, scores)
        return scores

    def _log_sample(self, prompts: Sequence[Any] | None, texts: list[str], answers: list[str | None] | None, scores: list[Score]) -> None:
        calls, self._calls = self._calls, self._calls + 1
        if calls % self.log_every or not texts:
            return
        question = prompt_text(prompts[0]) if prompts else ""
        logger.info(
            "%s (call %d)\nQuestion:\n%s\nAnswer:\n%s\nResponse:\n%s\nScore: %s",
            self.__name__, calls, shorten_for_log(question), shorten_for_log(answers[0] if answers else None),
            shorten_for_log(texts[0]), scores[0],
        )


def gold_answers(columns: dict[str, Any], count: int, reward_name: str) -> list[str | None]:
    """Return the gold answers as strings: the ``answer`` column, else DAPO's raw ``solution``.

    Raises:
        ValueError: when neither column was passed or its length differs from the completions'.

    >>> gold_answers({"answer": [72, "1,080", None]}, 3, "correctness")
    ['72', '1,080', None]
    """
    column = columns.get("answer")
    name = "answer"
    if column is None:
        column, name = columns.get("solution"), "solution"
    if column is None:
        raise ValueError(
            f"reward {reward_name!r} needs the gold answer as the dataset column 'answer' (or 'solution'); "
            f"the trainer passed only these columns: {sorted(columns)}. Add an 'answer' column to the dataset."
        )
    if isinstance(column, str) or len(column) != count:
        raise ValueError(
            f"reward {reward_name!r}: column {name!r} must hold one gold answer per completion "
            f"({count}), got {column!r:.200}"
        )
    return [None if a is None else a if isinstance(a, str) else str(a) for a in column]
