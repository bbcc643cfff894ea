"""Text helpers shared by the rewards and by evaluation code.

They read a completion in either TRL shape (plain string or conversational message list), cut out
the XML ``<answer>`` or the text around a reasoning end tag, and read numbers the way people write
them ("$1,080", "-3", "72.0"). None of them raises on any text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "answer_after_reasoning",
    "completion_text",
    "is_prose",
    "extract_xml_answer",
    "final_number",
    "last_number",
    "numbers_equal",
    "parse_number",
    "prompt_text",
    "reasoning_text",
    "sample_evenly",
    "shorten_for_log",
    "tail_for_answer",
]

# Bounds on the work one completion can cost (see the package README's "Reliability" section).
LOG_CHARS = 600  # characters of a text a log record keeps: 300 from each end
ANSWER_CHARS = 10_000  # characters at the end of a final answer where its number is read
LANGUAGE_CHARS = 20_000  # characters of a text whose language is classified (8 evenly spread slices)

# A number as written: digits with optional thousands commas and decimals, then optionally a power
# of ten or an exponent: 1.5e-3, 1.5 × 10^3, 1.5 \times 10^{3}, 10^{-3}, 2**10. The scale is part of
# the number, so the digits of an exponent are never read as a number of their own.
_POWER = r"[-+\u2212]?[0-9]+"
_NUMBER = (
    r"(?P<mantissa>(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?:[eE](?P<e>" + _POWER + r")"
    r"|[ \t]*(?:\\times|\\cdot|[×x*·⋅])[ \t]*10[ \t]*(?:\^[ \t]*(?:\{[ \t]*(?P<t1>" + _POWER + r")[ \t]*\}|(?P<t2>" + _POWER + r"))"
    r"|\*\*[ \t]*(?P<t3>" + _POWER + r"))"
    r"|[ \t]*(?:\^[ \t]*(?:\{[ \t]*(?P<p1>" + _POWER + r")[ \t]*\}|(?P<p2>" + _POWER + r"))|\*\*[ \t]*(?P<p3>" + _POWER + r")))?"
)
# The last number inside prose: a greedy ``.*`` runs to the end and backtracks to the rightmost
# position where a number starts (as fast as a plain search). A minus sign belongs to the number
# unless it follows a word or digit, where it is an operator ("5-3" ends with 3, "x = -3" with -3).
# A number never starts inside a word or another number, in the power of "1.5e-3", after "^" or
# "**" (an exponent), or at the 10 of "1.5 × 10^3" (the scale of the number before it).
_TIMES_TEN_BEFORE = "|".join(
    f"(?<={before})"
    for op in ("[×x*·⋅]", r"\\times", r"\\cdot")
    for before in (f"[0-9]{op}", f"[0-9] {op}", f"[0-9]{op} ", f"[0-9] {op} ")
)
_LAST_NUMBER = re.compile(
    r"(?s:.*)(?=[-\u2212.0-9])"  # (the cheapest tests first: most positions fail at once)
    r"(?:(?<![\w.,])(?=[-\u2212])|(?<![\w.,\-\u2212])|(?<=[\w.,][-\u2212]))"
    # (a first cheap test: none of the exponent contexts below ends in any other character)
    r"(?:(?<![\^*{ +\-\u2212])|(?<![0-9.][eE][-+\u2212])(?<!\^)(?<!\^[-+\u2212])(?<!\^\{)(?<!\^\{[-+\u2212])(?<!\^ )(?<!\^\{ )"
    r"(?<!\*\*)(?<!\*\*[-+\u2212])(?<!\*\* ))"
    r"(?!(?=10[ \t]*[\^*])(?:" + _TIMES_TEN_BEFORE + r"))"
    r"(?P<sign>[-\u2212])?" + _NUMBER
)
# Sign, currency, sign again ("$-5"), the number, then an optional % and full stop.
_NUMBER_AS_WRITTEN = re.compile(
    r"\s*(?P<sign>[-+\u2212]?)\s*(?:[$€£¥₹]|Rp\.?|USD|IDR)?\s*(?P<sign2>[-\u2212]?)\s*" + _NUMBER + r"\s*%?\s*\.*\s*"
)
# A word: two or more letters, not a LaTeX command ("\\frac"); with a vowel, so "xy" or "dx" stay math.
_WORD = re.compile(r"(?<![A-Za-z\\])[A-Za-z]{2,}(?![A-Za-z])")
_VOWEL = re.compile(r"[aeiouAEIOU]")
_MATH_WORDS = frozenset(
    "sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log ln exp sqrt pi oo inf infty "
    "mod gcd lcm max min deg".split()
)
# The content of \boxed{...}, one level of braces inside allowed (\boxed{10^{3}}, \boxed{\frac{1}{2}}).
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


def _number_value(match: re.Match[str]) -> float | None:
    """The value of a :data:`_NUMBER` match; ``None`` when it is not a finite float."""
    mantissa = match["mantissa"]
    if "," in mantissa:
        mantissa = mantissa.replace(",", "")
    if match.lastgroup == "mantissa":  # no exponent: the usual case
        value = float(mantissa)
        return value if value != math.inf else None
    e, t1, t2, t3, p1, p2, p3 = match.group("e", "t1", "t2", "t3", "p1", "p2", "p3")
    ten_power = e or t1 or t2 or t3
    power = p1 or p2 or p3
    if ten_power is not None:
        value = float(mantissa + "e" + ten_power.replace("\u2212", "-"))
    else:
        try:
            value = math.pow(float(mantissa), float(power.replace("\u2212", "-")))
        except (OverflowError, ValueError):  # 0^-1, a result past the float range
            return None
    return value if math.isfinite(value) else None


def is_prose(text: str) -> bool:
    """True when ``text`` holds a word: two or more letters with a vowel, not a LaTeX command or a
    math name (``sin``, ``log``, ``pi``, ...). Such a gold is not a number or an expression.

    >>> is_prose("five"), is_prose("5 apples"), is_prose("\\\\text{yes}")
    (True, True, True)
    >>> is_prose("\\\\frac{1}{2}"), is_prose("2xy + \\\\sin(x)"), is_prose("(0, 1]"), is_prose("A")
    (False, False, False, False)
    """
    return any(word.lower() not in _MATH_WORDS and _VOWEL.search(word) for word in _WORD.findall(text))


def completion_text(completion: Any) -> str:
    """Return the generated text of one completion, ``""`` when it has none.

    Accepts TRL's plain form (a string) and conversational form (a list of message dicts whose
    ``content`` is a string or a list of ``{"type": "text", "text": ...}`` parts); several
    messages are joined in order. Never raises.

    >>> completion_text([{"role": "assistant", "content": "<answer>4</answer>"}])
    '<answer>4</answer>'
    >>> completion_text("plain text"), completion_text(None)
    ('plain text', '')
    """
    text = completion_text_or_none(completion)
    return "" if text is None else text


def completion_text_or_none(completion: Any) -> str | None:
    """Like :func:`completion_text`, but ``None`` for a malformed completion.

    Malformed means: not a string or a list, an empty list, a message that is not a mapping, or a
    message without string content.

    >>> completion_text_or_none([{"role": "assistant"}]) is None
    True
    """
    if type(completion) is str:
        return completion
    try:  # fast path: TRL's usual single assistant message
        if len(completion) == 1:
            content = completion[0]["content"]
            if type(content) is str:
                return content
    except Exception:
        pass
    if isinstance(completion, str):
        return str(completion)
    if not isinstance(completion, Sequence) or not completion:
        return None
    pieces = []
    for message in completion:
        if not isinstance(message, Mapping):
            return None
        piece = _content_text(message.get("content"))
        if piece is None:
            return None
        pieces.append(piece)
    return "".join(pieces)


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return str(content)
    if isinstance(content, Sequence) and content:
        parts = [part.get("text") for part in content if isinstance(part, Mapping)]
        if parts and all(isinstance(part, str) for part in parts):
            return "".join(parts)
    return None


def prompt_text(prompt: Any) -> str:
    """Return the last message of a prompt (the question), or the prompt itself if it is a string.

    >>> prompt_text([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])
    '2+2?'
    """
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt:
        return completion_text([prompt[-1]])
    return ""


def extract_xml_answer(text: str) -> str:
    """Return the stripped text between the last ``<answer>`` and the next ``</answer>``.

    Same result as the GSM8K tutorial's function: with no tags the whole text is returned.

    >>> extract_xml_answer("<reasoning>\\n6*12\\n</reasoning>\\n<answer>\\n72\\n</answer>\\n")
    '72'
    >>> extract_xml_answer("no tags")
    'no tags'
    """
    return text.rpartition("<answer>")[2].partition("</answer>")[0].strip()


def parse_number(text: str) -> float | None:
    """Read a text that *is* a number, as people write it; ``None`` if it is not one.

    Understands a sign, thousands commas, a currency sign or code before the number, a ``%``
    after it, a trailing full stop and any ``.0``, and scientific notation (``1.5e-3``,
    ``1.5 × 10^3``, ``1.5 \\times 10^{3}``, ``10^{-3}``, ``2**10``). Surrounding words are not
    allowed (see :func:`last_number`); a number past the float range is not one (``None``).

    >>> parse_number("1,080"), parse_number("$72.0"), parse_number("-3"), parse_number(" 7. ")
    (1080.0, 72.0, -3.0, 7.0)
    >>> parse_number("1.5e3"), parse_number("2.5 \\\\times 10^{-2}"), parse_number("10^6")
    (1500.0, 0.025, 1000000.0)
    >>> parse_number("about 7") is None, parse_number("1,2,3") is None, parse_number("1e999") is None
    (True, True, True)
    """
    if type(text) is not str:
        if not isinstance(text, str):
            return None
        text = str(text)
    if text.isdigit() and text.isascii() and len(text) < 300:  # the usual gold answer: skip the regex
        return float(text)
    match = _NUMBER_AS_WRITTEN.fullmatch(text)
    if match is None:
        return None
    negative = match["sign"] not in ("", "+")
    if negative and match["sign2"]:
        return None
    value = _number_value(match)
    if value is None:
        return None
    return -value if negative or match["sign2"] else value


def last_number(text: str) -> float | None:
    """Return the last number written anywhere in ``text``, or ``None``.

    A number in scientific notation is one number (``1.5e-3``, ``6.02 \\times 10^{23}``); one
    past the float range is not read, and neither is what comes before it.

    >>> last_number("She pays $1,080 in 12 months, so 90 a month.")
    90.0
    >>> last_number("5-3") , last_number("x = -3.5") , last_number("none"), last_number("so 1.5e-3 m")
    (3.0, -3.5, None, 0.0015)
    """
    if type(text) is not str and not isinstance(text, str):
        return None
    match = _LAST_NUMBER.match(text)
    if match is None:
        return None
    sign, number = match.group(1, 2)  # the sign, the mantissa
    if match.end() == match.end(2):  # no exponent: the usual case
        value = float(number.replace(",", "") if "," in number else number)
        if value == math.inf:
            return None
        return -value if sign else value
    value = _number_value(match)
    if value is None:
        return None
    return -value if match["sign"] else value


def final_number(text: str) -> float | None:
    """Return the number of a final answer: inside the last ``\\boxed{}`` if any, else the last number.

    >>> final_number("12 * 3 = 36, so \\\\boxed{36} apples for 2 kids")
    36.0
    >>> final_number("12 * 3 = 36")
    36.0
    """
    if not isinstance(text, str):
        return None
    if "\\boxed" in text:
        boxed = _BOXED.findall(text)
        if boxed:
            value = parse_number(boxed[-1])
            if value is None:
                value = last_number(boxed[-1])
            if value is not None:
                return value
    return last_number(text)


def numbers_equal(a: float, b: float) -> bool:
    """Compare two parsed numbers, tolerating float rounding (``0.1 + 0.2`` equals ``0.3``).

    >>> numbers_equal(72.0, 72), numbers_equal(0.1 + 0.2, 0.3), numbers_equal(1.0, 1.01)
    (True, True, False)
    """
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def reasoning_text(text: str, reasoning_start: str = "<think>", reasoning_end: str = "</think>") -> str:
    """Return the reasoning: the text after the first start tag and before the next end tag.

    A missing start tag means the reasoning starts at the beginning (it was prefilled); a missing
    end tag means it runs to the end (truncated generation).

    >>> reasoning_text("<think>Saya pikir 2.</think>2")
    'Saya pikir 2.'
    >>> reasoning_text("Saya pikir 2.</think>2")
    'Saya pikir 2.'
    """
    start = text.find(reasoning_start) if reasoning_start else -1
    begin = 0 if start == -1 else start + len(reasoning_start)
    end = text.find(reasoning_end, begin) if reasoning_end else -1
    return text[begin:] if end == -1 else text[begin:end]


def answer_after_reasoning(text: str, reasoning_end: str = "</think>") -> str | None:
    """Return everything after the first reasoning end tag, or ``None`` when the tag is missing.

    This is what tutorial 2's ``match_format`` regex captures.

    >>> answer_after_reasoning("<think>hmm</think>\\n\\n42")
    '\\n\\n42'
    >>> answer_after_reasoning("no end tag") is None
    True
    """
    end = text.find(reasoning_end)
    return None if end == -1 else text[end + len(reasoning_end) :]


def tail_for_answer(text: str, max_chars: int) -> str:
    """Return the end of ``text`` where a final answer is read: at most ``max_chars`` characters.

    Final-answer readers (the last number, the last ``\\boxed{}``, math-verify's rightmost match)
    look at the end of a completion, so a multi-MB completion only costs its last ``max_chars``.
    A cut never splits a line or a word: the tail starts after the first newline in it, else after
    its first whitespace; with neither (one endless token) it is empty.

    >>> tail_for_answer("step 1\\nstep 22\\nso 42", 9)
    'so 42'
    >>> tail_for_answer("short", 9), tail_for_answer("x" * 20, 9)
    ('short', '')
    """
    if len(text) <= max_chars:
        return text
    tail = text[-max_chars:]
    if text[-max_chars - 1].isspace():
        return tail
    newline = tail.find("\n")
    if newline != -1:
        return tail[newline + 1 :]
    for index, char in enumerate(tail):
        if char.isspace():
            return tail[index + 1 :]
    return ""


def sample_evenly(text: str, max_chars: int, pieces: int = 8) -> str:
    """Return ``text``, or when longer than ``max_chars``, ``pieces`` slices spread evenly over it.

    Used where a statistic of the whole text is wanted (its language) at a bounded cost: the
    slices, joined by spaces, total ``max_chars`` characters and cover the start, the middle
    and the end.

    >>> sample_evenly("abcdefghij", 4, pieces=2)
    'ab fg'
    >>> sample_evenly("short", 100)
    'short'
    """
    if len(text) <= max_chars:
        return text
    width = max(1, max_chars // pieces)
    step = len(text) / pieces
    return " ".join(text[int(i * step) : int(i * step) + width] for i in range(pieces))


def shorten_for_log(text: object, max_chars: int = LOG_CHARS) -> str:
    """Return ``str(text)``, or its two ends around a note of what was left out, for log records.

    >>> shorten_for_log("a" * 10 + "b" * 10, 8)
    'aaaa … [12 characters left out] … bbbb'
    >>> shorten_for_log("short")
    'short'
    """
    text = text if isinstance(text, str) else str(text)
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]} … [{len(text) - 2 * half:,} characters left out] … {text[-half:]}"
