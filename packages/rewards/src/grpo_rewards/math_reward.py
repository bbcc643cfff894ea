"""Math equivalence reward with math-verify (optional extra: ``pip install 'grpo-rewards[math]'``)."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .base import Reward, Score, logger
from .text import answer_after_reasoning, shorten_for_log, tail_for_answer

__all__ = ["MathAccuracy"]

CORRECT, WRONG = 1.0, 0.0
PARSE_TIMEOUT_S = 5
# math-verify's extraction regexes run in C, where its signal timeout cannot interrupt them, and
# their time grows with the cube of some inputs (1,000 characters of "\[\boxed{" take 0.1 s, 5,000
# take 10 s). It reads the rightmost answer anyway, so it only ever sees this many characters of
# the end of the final answer; a longer gold is not understood (None).
MAX_MATH_CHARS = 1_000


def _timeout() -> int | None:
    # math-verify times out with signal.alarm, which only works in the main thread.
    return PARSE_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> Any:
    from math_verify import parse

    if len(gold) > MAX_MATH_CHARS:
        return []
    # A bare "1080" or "\frac{1}{2}" parses as is; wrapped in $...$ it also parses as LaTeX.
    parsed = parse(gold, parsing_timeout=_timeout(), raise_on_error=True)
    if not parsed:
        parsed = parse(f"${gold}$", parsing_timeout=_timeout(), raise_on_error=True)
    return parsed


@dataclass
class MathAccuracy(Reward):
    """1.0 when math-verify finds the final answer equivalent to the gold, 0.0 when not.

    The final answer is the text after ``reasoning_end`` when present, else the whole completion;
    math-verify sees only its last 1,000 characters (cut at a line or word boundary), which bounds
    its work on any completion. The gold is parsed first; ``None`` when it cannot be parsed, is
    longer than 1,000 characters, or is ``None``. Runs without signal-based timeouts outside the
    main thread (e.g. in a thread pool). Errors and timeouts are logged at DEBUG with the text
    shortened, never the whole completion.

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
        from math_verify.errors import TimeoutException

        try:
            gold = _parse_gold(answer)
        except (Exception, TimeoutException) as error:  # its TimeoutException is a BaseException
            logger.debug("math_accuracy: gold %r not parsed: %s", shorten_for_log(answer, 100), type(error).__name__)
            return None
        if not gold:
            return None
        final = answer_after_reasoning(text, self.reasoning_end) if self.reasoning_end else None
        final = tail_for_answer(text if final is None else final, MAX_MATH_CHARS)
        try:
            timeout = _timeout()
            # raise_on_error: math-verify would log the whole text on a timeout; we log it shortened.
            predicted = parse(final, parsing_timeout=timeout, raise_on_error=True)
            return CORRECT if verify(gold, predicted, timeout_seconds=timeout) else WRONG
        except (Exception, TimeoutException) as error:  # math-verify raises on pathological input and timeouts
            logger.debug("math_accuracy: scored %s after %s on %r", WRONG, type(error).__name__, shorten_for_log(final))
            return WRONG
