"""Math equivalence reward with math-verify (optional extra: ``pip install 'grpo-rewards[math]'``)."""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from decimal import Decimal
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .base import Reward, Score, logger
from .gold import gold_answer, gold_number, is_percent, plain_number_text
from .text import answer_after_reasoning, shorten_for_log, tail_for_answer

__all__ = ["MathAccuracy"]

CORRECT, WRONG = 1.0, 0.0
PARSE_TIMEOUT_S = 5
# math-verify's extraction regexes run in C, where its signal timeout cannot interrupt them, and
# their time grows with the cube of some inputs (1,000 characters of "\[\boxed{" take 0.1 s, 5,000
# take 10 s). It reads the rightmost answer anyway, so it only ever sees this many characters of
# the end of the final answer; a longer gold is not understood (None).
MAX_MATH_CHARS = 1_000
# math-verify reads "1.5e3" as 1.5*e*3 (Euler's number); such numbers are rewritten as decimals first.
_E_NOTATION = re.compile(r"(?<![\w.])([0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]{1,3})(?![\w.])")
# and rounds 6.02 \times 10^{23} in floats, so a right answer differs from the exact gold: also as decimals.
_TIMES_TEN = re.compile(
    r"(?<![\w.])([0-9]+(?:\.[0-9]+)?)\s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*(?:\{\s*([-+]?[0-9]{1,3})\s*\}|([-+]?[0-9])(?![0-9]))"
)


def _decimal(number: Decimal | float | str) -> str:
    """Plain decimal digits of a number: 1.5e3 -> "1500", 1.5e-09 -> "0.0000000015"."""
    plain = format(Decimal(number if isinstance(number, (str, Decimal)) else repr(number)), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain


def _timeout() -> int | None:
    # math-verify times out with signal.alarm, which only works in the main thread.
    return PARSE_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> Any:
    from math_verify import parse

    answer = gold_answer(gold)
    if answer is None or len(answer) > MAX_MATH_CHARS:
        return []
    number = plain_number_text(answer)
    if number is not None:  # "1,080", "$5", "1.5e3", "2.5 \times 10^{-2}", "45^\circ": as plain decimals
        parsed = parse(_decimal(number), parsing_timeout=_timeout(), raise_on_error=True)
        if is_percent(answer):  # 12.5\% is right as 12.5, 12.5\% and 0.125
            parsed = parsed + parse(f"${_decimal(number)}\\%$", parsing_timeout=_timeout(), raise_on_error=True)
        return parsed
    # As LaTeX first: bare, "(0, 1]" reads as 1 and "2 \pi" as 2.
    parsed = parse(f"${answer}$", parsing_timeout=_timeout(), raise_on_error=True)
    if not parsed:
        parsed = parse(answer, parsing_timeout=_timeout(), raise_on_error=True)
    return parsed


def _close_enough(predicted: list[Any], gold: float | None) -> bool:
    """math-verify rounds numbers to 6 decimals, so 1.5e-9 equals 3e-9 to it: check tiny golds relatively."""
    if gold is None or gold == 0 or abs(gold) >= 1e-3 or not predicted:
        return True
    try:
        value = float(predicted[0])
    except (TypeError, ValueError):
        return True
    return math.isclose(value, gold, rel_tol=1e-6)


@dataclass
class MathAccuracy(Reward):
    """1.0 when math-verify finds the final answer equivalent to the gold, 0.0 when not.

    The final answer is the text after ``reasoning_end`` when present, else the whole completion;
    math-verify sees only its last 1,000 characters (cut at a line or word boundary), which bounds
    its work on any completion. The gold is read first, by the answer a reader finds in it (see
    :func:`~grpo_rewards.gold.gold_answer`: the last ``\\boxed{}`` of a worked solution, GSM8K's
    ``#### 72``, ``$125$ miles``); ``None`` when it states none (``five``, ``the answer is Paris``),
    when that answer is longer than 1,000 characters, or when the gold is ``None``. An answer that
    is a number as written (``1,080``, ``1.5e3``, ``2.5 \\times 10^{-2}``, ``45^\\circ``) is
    compared as that number (a percent also as its fraction); any other is read as LaTeX. Runs
    without signal-based timeouts outside the main thread (e.g. in a thread pool).
    With ``require_reasoning_end=True`` a completion without ``reasoning_end`` (reasoning that
    never finished) scores 0.0. Errors and timeouts are logged at DEBUG with the text
    shortened, never the whole completion.

    >>> MathAccuracy()(completions=["hmm</think>So $\\\\frac{1}{2}$", "hmm</think>\\\\boxed{0.4}"], answer=["0.5", "0.5"])
    [1.0, 0.0]
    >>> MathAccuracy()(completions=["hmm</think>\\\\boxed{5}"], answer=["so the answer is $\\\\boxed{5}$."])
    [1.0]
    """

    reasoning_end: str = "</think>"
    require_reasoning_end: bool = False

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
        if final is None and self.require_reasoning_end and self.reasoning_end:
            return WRONG
        final = tail_for_answer(text if final is None else final, MAX_MATH_CHARS)
        if "e" in final or "E" in final:
            final = _E_NOTATION.sub(lambda match: _decimal(match[1]), final)
        if "10" in final:
            final = _TIMES_TEN.sub(lambda match: _decimal(Decimal(f"{match[1]}e{match[2] or match[3]}")), final)
        try:
            timeout = _timeout()
            # raise_on_error: math-verify would log the whole text on a timeout; we log it shortened.
            predicted = parse(final, parsing_timeout=timeout, raise_on_error=True)
            if not verify(gold, predicted, timeout_seconds=timeout):
                return WRONG
            return CORRECT if _close_enough(predicted, gold_number(answer)) else WRONG
        except (Exception, TimeoutException) as error:  # math-verify raises on pathological input and timeouts
            logger.debug("math_accuracy: scored %s after %s on %r", WRONG, type(error).__name__, shorten_for_log(final))
            return WRONG
