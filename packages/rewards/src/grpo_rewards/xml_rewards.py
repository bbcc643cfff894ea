"""Rewards of the GSM8K tutorial: ``<reasoning>...</reasoning><answer>...</answer>`` completions.

Scores are the tutorial's (0.125 per well-placed tag, 0.5 for each format, 0.5 for an integer
answer, 2.0 for a correct one); its bugs are fixed (see the package README's table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Reward, Score
from .gold import gold_number
from .text import ANSWER_CHARS, extract_xml_answer, last_number, numbers_equal, parse_number, tail_for_answer

__all__ = ["Correctness", "Integer", "SoftFormat", "StrictFormat", "XmlCount", "count_xml"]

TAG_SCORE = 0.125
TRAILING_CHAR_PENALTY = 0.001
FORMAT_SCORE = 0.5
INTEGER_SCORE = 0.5
CORRECT_SCORE = 2.0

_WHITESPACE = re.compile(r"\s*")
_INTEGER = re.compile(r"[-+\u2212]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)")


def count_xml(text: str) -> float:
    """Score the XML tags of ``text`` like the tutorial's ``count_xml``, without its newline bug.

    0.125 for each of ``<reasoning>\\n``, ``\\n</reasoning>\\n``, ``\\n<answer>\\n``,
    ``\\n</answer>`` seen exactly once; each of the two answer tags loses 0.001 per character
    written after ``</answer>`` (one newline allowed). The tutorial measured that trailing text
    from ``</answer>\\n`` only, so a closing tag without a newline cost 0.001 per character of
    the *whole* completion.

    >>> count_xml("<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>")
    0.5
    >>> round(count_xml("<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>\\nbye"), 3)
    0.494
    """
    count = 0.0
    if text.count("<reasoning>\n") == 1:
        count += TAG_SCORE
    if text.count("\n</reasoning>\n") == 1:
        count += TAG_SCORE
    closing = text.rfind("\n</answer>")
    trailing = 0
    if closing != -1:
        trailing = len(text) - closing - 10 - (text[closing + 10 : closing + 11] == "\n")
    if text.count("\n<answer>\n") == 1:
        count += TAG_SCORE - trailing * TRAILING_CHAR_PENALTY
    if text.count("\n</answer>") == 1:
        count += TAG_SCORE - trailing * TRAILING_CHAR_PENALTY
    return count


def is_soft_format(text: str) -> bool:
    """True when ``text`` starts with ``<reasoning>``, closes it, and an ``<answer>...</answer>`` follows.

    The tutorial's regex (``re.match`` without ``re.DOTALL``) could not cross a newline, so any
    multi-line reasoning failed. This is the same test with DOTALL semantics, in linear time.

    >>> is_soft_format("<reasoning>\\nline 1\\nline 2\\n</reasoning>\\n<answer>3</answer>")
    True
    """
    if not text.startswith("<reasoning>"):
        return False
    search_from = 11
    while True:
        close = text.find("</reasoning>", search_from)
        if close == -1:
            return False
        answer_at = _WHITESPACE.match(text, close + 12).end()
        if text.startswith("<answer>", answer_at):
            return text.find("</answer>", answer_at + 8) != -1
        search_from = close + 1


def is_strict_format(text: str) -> bool:
    """True for exactly ``<reasoning>\\n...\\n</reasoning>\\n<answer>\\n...\\n</answer>`` (+ optional newline).

    Reasoning and answer may span lines and each tag appears once. The tutorial's pattern only
    matched one-line reasoning and required the final newline. (Checked with ``str`` searches:
    the equivalent ``re.DOTALL`` pattern is four times slower.)

    >>> is_strict_format("<reasoning>\\nstep 1\\nstep 2\\n</reasoning>\\n<answer>\\n3\\n</answer>")
    True
    """
    if not text.startswith("<reasoning>\n"):
        return False
    if text.endswith("\n</answer>"):
        closing = len(text) - 10
    elif text.endswith("\n</answer>\n"):
        closing = len(text) - 11
    else:
        return False
    middle = text.find("\n</reasoning>\n<answer>\n", 12)
    return (
        middle != -1
        and middle + 23 <= closing
        and text.count("<reasoning>") == 1
        and text.count("</reasoning>") == 1
        and text.count("<answer>") == 1
        and text.count("</answer>") == 1
    )


@dataclass
class XmlCount(Reward):
    """Reward partial XML structure: :func:`count_xml` of each completion.

    Returns:
        one score per completion, at most 0.5; unbounded below (0.002 lost per trailing character).

    >>> XmlCount()(completions=[[{"role": "assistant", "content": "<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>\\n"}]])
    [0.5]
    """

    __name__ = "xmlcount"
    score_range = (float("-inf"), 4 * TAG_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return count_xml(text)


@dataclass
class SoftFormat(Reward):
    """0.5 when the completion is ``<reasoning>...</reasoning>`` then ``<answer>...</answer>``, else 0.

    >>> SoftFormat()(completions=["<reasoning>a\\nb</reasoning> <answer>3</answer>", "3"])
    [0.5, 0.0]
    """

    __name__ = "soft_format"
    score_range = (0.0, FORMAT_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return FORMAT_SCORE if is_soft_format(text) else 0.0


@dataclass
class StrictFormat(Reward):
    """0.5 when the completion is exactly the system prompt's layout (see :func:`is_strict_format`).

    >>> StrictFormat()(completions=["<reasoning>\\na\\nb\\n</reasoning>\\n<answer>\\n3\\n</answer>"])
    [0.5]
    """

    __name__ = "strict_format"
    score_range = (0.0, FORMAT_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return FORMAT_SCORE if is_strict_format(text) else 0.0


@dataclass
class Integer(Reward):
    """0.5 when the extracted answer is an integer: optional sign, digits, optional thousands commas.

    The tutorial used ``str.isdigit``, which refused ``-3`` and ``1,080``.

    >>> Integer()(completions=["<answer>-3</answer>", "<answer>1,080</answer>", "<answer>2.5</answer>"])
    [0.5, 0.5, 0.0]
    """

    __name__ = "integer"
    score_range = (0.0, INTEGER_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return INTEGER_SCORE if _INTEGER.fullmatch(extract_xml_answer(text)) else 0.0


@dataclass
class Correctness(Reward):
    """2.0 when the extracted answer equals the gold ``answer`` column, else 0.

    Numeric golds are compared as numbers: ``72.0``, ``$72`` and ``The answer is 72.`` (inside
    ``<answer>``) all match ``72``, ``1080`` matches ``1,080``. Without ``<answer>`` tags the
    whole completion must be the number; the last number is read in the answer's last 10,000
    characters. Non-numeric golds are compared as stripped strings.
    Returns ``None`` where the gold answer is ``None``.

    Attributes:
        require_reasoning_end: when True, a completion without ``</reasoning>`` (reasoning that
            never finished) scores 0.0 whatever its answer.

    >>> Correctness()(completions=["<answer>$1,080.00</answer>", "<answer>1081</answer>"], answer=["1080", "1080"])
    [2.0, 0.0]
    """

    require_reasoning_end: bool = False

    __name__ = "correctness"
    score_range = (0.0, CORRECT_SCORE)
    needs_answer = True

    def score(self, text: str, answer: str | None) -> Score:
        if answer is None:
            return None
        if self.require_reasoning_end and "</reasoning>" not in text:
            return 0.0
        extracted = text.rpartition("<answer>")[2].partition("</answer>")[0].strip()  # extract_xml_answer
        if extracted == answer:  # the usual right answer: no number parsing needed
            return CORRECT_SCORE
        gold = gold_number(answer)
        if gold is None:
            return CORRECT_SCORE if extracted == answer.strip() else 0.0
        value = parse_number(extracted)
        if value is None and "<answer>" in text:
            value = last_number(extracted if len(extracted) <= ANSWER_CHARS else tail_for_answer(extracted, ANSWER_CHARS))
        if value is None:
            return 0.0
        return CORRECT_SCORE if value == gold or numbers_equal(value, gold) else 0.0
