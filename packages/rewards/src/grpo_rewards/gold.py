"""Where a gold states its answer, read as a reader would: the rewards that read a gold start here.

A data set's gold column is a bare answer (``72``, ``\\frac{3}{4}``), a worked solution (GSM8K's
``... #### 72``, MATH's and NuminaMath's ``... $\\boxed{5}$.``) or an answer with a unit or words
around it (``$125$ miles``, ``12\\text{ inches}``, ``It takes 3 hours.``). :func:`gold_answer` finds
the answer in it; ``None`` only when there is none a parser can find (``the answer is Paris``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .text import ANSWER_CHARS, _WORD, is_prose, last_number, parse_number, tail_for_answer

__all__ = ["gold_answer", "gold_number", "is_percent", "plain_number_text"]

_BOXED_START = re.compile(r"\\(?:boxed|fbox)\s*\{")
# A math span: $$...$$, $...$ (an escaped \$ is a dollar sign, not a delimiter), \(...\), \[...\]. A span
# holds no delimiter of its kind, so each match attempt stops at the next one (linear time on any gold).
_MATH_SPAN = re.compile(
    r"(?<!\\)\$\$(?P<display>(?:[^$\\]|\\.)+?)\$\$"
    r"|(?<![\\$])\$(?P<inline>(?:[^$\\]|\\.)+?)\$"
    r"|\\\((?P<paren>(?:(?!\\[()]).)+?)\\\)"
    r"|\\\[(?P<bracket>(?:(?!\\[\[\]]).)+?)\\\]",
    re.S,
)
# LaTeX text groups (units and words: "12\text{ inches}", "36 \text{ ft}^2"), with an exponent after them.
_TEXT_GROUP = re.compile(
    r"\\(?:text|textbf|textit|textrm|mbox|mathrm|operatorname)\s*\{[^{}]*\}(?:\s*\^\s*(?:\{[^{}]*\}|[0-9]))?"
)
# Marks around a number that do not change it for a reader: LaTeX's dollar sign, percent and degree
# signs, thin spaces; "{,}" is LaTeX's thousands comma.
_NUMBER_MARKS = re.compile(r"\\\$|\\%|\^\s*\{?\s*\\circ\s*\}?|°|\\[,!;: ]|~")
_PERCENT = re.compile(r"\\?%|\bpercent\b")
_EDGE_PUNCTUATION = " \t\n.,;:!?"


def _braced(text: str, start: int) -> str | None:
    """The text from ``start`` to the brace that closes the one before it; ``None`` when it never closes."""
    depth = 1
    for match in re.finditer(r"\\.|[{}]", text[start:], re.S):
        brace = match[0]
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                return text[start : start + match.start()]
    return None


def _last_boxed(text: str) -> str | None:
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start == -1:
        return None
    match = _BOXED_START.match(text, start)
    return None if match is None else _braced(text, match.end())


def _last_math_span(text: str) -> str | None:
    last = None
    for last in _MATH_SPAN.finditer(text):
        pass
    if last is None:
        return None
    return next(group for group in last.groups() if group is not None)


def _words_around(text: str) -> str | None:
    """The math a gold in words states: the last stretch between words that holds a digit.

    ``125 miles`` -> ``125``, ``It takes 3 hours.`` -> ``3``, ``1/2 cup`` -> ``1/2``; a stretch of
    several numbers gives its last number (``12 a month, 144 a year`` -> ``144``).
    """
    stretches = [piece.strip(_EDGE_PUNCTUATION) for piece in _WORD.split(text)]
    stretches = [piece for piece in stretches if any(ch.isdigit() for ch in piece)]
    if not stretches:
        return None
    answer = stretches[-1]
    if plain_number_text(answer) is not None or not any(ch.isspace() for ch in answer):
        return answer
    number = last_number(answer)
    return None if number is None else repr(number)


def plain_number_text(answer: str) -> float | None:
    """The number an answer states with its marks and units dropped (``\\$18.90``, ``45^\\circ``,
    ``12\\text{ inches}``, ``10{,}000``, ``50\\%``); ``None`` when it is not a number.

    >>> plain_number_text("\\\\$18.90"), plain_number_text("45^\\\\circ"), plain_number_text("12\\\\text{ inches}")
    (18.9, 45.0, 12.0)
    """
    number = parse_number(answer)
    if number is not None:
        return number
    bare = _TEXT_GROUP.sub(" ", answer).replace("{,}", ",")
    bare = _NUMBER_MARKS.sub(" ", bare)
    return parse_number(bare) if bare != answer else None


@lru_cache(maxsize=4096)
def gold_answer(gold: str) -> str | None:
    """Return the answer a gold states, as text; ``None`` when it states none a parser can find.

    In order: the last ``\\boxed{...}`` (or ``\\fbox``) of a worked solution; the text after GSM8K's
    last ``####``; the gold itself when it is a number as written (``$5``, ``1,080``); the last math
    span (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``: ``$125$ miles`` -> ``125``); a gold in
    words (see :func:`~grpo_rewards.text.is_prose`; LaTeX text groups such as ``\\text{ inches}``
    do not count as words beside math) by the last stretch between its words that holds a digit
    (``125 miles`` -> ``125``), ``None`` when none does (``five``, ``the answer is Paris``);
    any other gold is its own answer (``\\frac{3}{4}``, ``(0, 1]``). The answer of a gold longer
    than 10,000 characters is looked for in its end.

    >>> gold_answer("We compute $2+3=5$, so the answer is $\\\\boxed{5}$.")
    '5'
    >>> gold_answer("Natalia sold 48+24 = <<48+24=72>>72 clips.\\n#### 72"), gold_answer("$125$ miles")
    ('72', '125')
    >>> gold_answer("It takes 3 hours."), gold_answer("12\\\\text{ inches}"), gold_answer("five")
    ('3', '12\\\\text{ inches}', None)
    """
    text = tail_for_answer(gold, ANSWER_CHARS).strip()
    if "\\boxed" in text or "\\fbox" in text:
        boxed = _last_boxed(text)
        if boxed is not None:
            return _stated(boxed.strip())
    if "####" in text:
        return _stated(text.rpartition("####")[2].strip())
    if parse_number(text) is not None:
        return text
    if "$" in text or "\\(" in text or "\\[" in text:
        span = _last_math_span(text)
        if span is not None:
            return _stated(span.strip())
    return _stated(text)


def _stated(answer: str) -> str | None:
    """An answer found in a gold: ``None`` when empty or in words without a number."""
    if not answer:
        return None
    without_text = _TEXT_GROUP.sub(" ", answer)
    if without_text.strip() and not is_prose(without_text):
        return answer  # math, possibly with units in text groups
    if not without_text.strip() and not is_prose(answer):
        return answer  # only text groups, none in words: "\text{(C)}"
    number = _words_around(answer)
    if number is not None and is_percent(answer) and not is_percent(number):
        return number + "%"  # "35 percent"
    return number


@lru_cache(maxsize=4096)
def gold_number(gold: str) -> float | None:
    """The number a gold states (see :func:`gold_answer`); ``None`` when its answer is not a number.

    A GRPO batch holds each gold once per generation: it is read once (cached).

    >>> gold_number("72"), gold_number("#### 1,080"), gold_number("$125$ miles"), gold_number("\\\\frac{1}{2}")
    (72.0, 1080.0, 125.0, None)
    """
    if type(gold) is str and gold.isdigit() and gold.isascii() and len(gold) < 300:  # the usual gold: skip the rest
        return float(gold)
    answer = gold_answer(gold)
    return None if answer is None else plain_number_text(answer)


def is_percent(answer: str) -> bool:
    """Whether an answer is a percentage (``50\\%``, ``50%``, ``35 percent``)."""
    return _PERCENT.search(answer) is not None
