"""Math equivalence reward with math-verify (optional extra: ``pip install 'grpo-rewards[math]'``)."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .base import Reward, Score, logger
from .text import answer_after_reasoning

__all__ = ["MathAccuracy"]

CORRECT, WRONG = 1.0, 0.0
PARSE_TIMEOUT_S = 5


def _timeout() -> int | None:
    # math-verify times out with signal.alarm, which only works in the main thread.
    return PARSE_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> Any:
    from math_verify import parse

    # A bare "1080" or "\frac{1}{2}" parses as is; wrapped in $...$ it also parses as LaTeX.
    parsed = parse(gold, parsing_timeout=_timeout())
    if not parsed:
        parsed = parse(f"${gold}$", parsing_timeout=_timeout())
    return parsed


@dataclass
class MathAccuracy(Reward):
    """1.0 when math-verify finds the final answer equivalent to the gold, 0.0 when not.

    The final answer is the text after ``reasoning_end`` when present, else the whole completion.
    The gold is parsed first; ``None`` when it cannot be parsed (or is ``None``). Runs without
    signal-based timeouts outside the main thread (e.g. in a thread pool).

    >>> MathAccuracy()(completions=["hmm</think>So $\\\\frac{1}{2}$", "hmm</think>\\\\boxed{0.4}"], answer=["0.5", "0.5"])
    [1.0, 0.0]
    """

    reasoning_end: str = "</think>"

    __name__ = "math_accuracy"
    score_range = (WRONG, CORRECT)
    needs_answer = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if importlib.util.find_spec("math_verify") is None:
            raise ImportError("reward 'math_accuracy' needs math-verify: pip install 'grpo-rewards[math]'")

    def score(self, text: str, answer: str | None) -> Score:
        if answer is None:
            return None
        from math_verify import parse, verify

        try:
            gold = _parse_gold(answer)
        except Exception as error:
            logger.debug("math_accuracy: gold %.100r not parsed: %r", answer, error)
            return None
        if not gold:
            return None
        try:
            final = answer_after_reasoning(text, self.reasoning_end) if self.reasoning_end else None
            timeout = _timeout()
            predicted = parse(text if final is None else final, parsing_timeout=timeout)
            return CORRECT if verify(gold, predicted, timeout_seconds=timeout) else WRONG
        except Exception as error:  # math-verify raises on pathological input and timeouts
            logger.debug("math_accuracy: scored %s after %r", WRONG, error)
            return WRONG
