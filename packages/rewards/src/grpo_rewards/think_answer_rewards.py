"""open-r1's ``<think>…</think><answer>…</answer>`` rewards: ``format_reward`` and ``tag_count_reward``.

The layout open-r1 trains with::

    <think>
    reasoning
    </think>
    <answer>
    answer
    </answer>

With a chat template that prefills ``<think>\\n``, pass ``prefix="<think>\\n"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Reward, Score

__all__ = ["ThinkAnswerFormat", "ThinkAnswerTagCount", "is_think_answer_format"]

FORMAT_SCORE = 1.0
TAG_SCORE = 0.25

_MIDDLE = "\n</think>\n<answer>\n"
_CLOSE = "\n</answer>"


def is_think_answer_format(text: str) -> bool:
    """open-r1's ``re.match(r"^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>$", text, re.DOTALL | re.MULTILINE)``.

    Same result, in linear time (``str`` searches instead of two lazy ``.*?``). Because of
    ``re.MULTILINE``, ``$`` also matches at the end of a line: text may follow ``</answer>`` after
    a newline.

    >>> is_think_answer_format("<think>\\nstep 1\\nstep 2\\n</think>\\n<answer>\\n4\\n</answer>")
    True
    >>> is_think_answer_format("<think>\\nx\\n</think>\\n<answer>\\n4\\n</answer> more")
    False
    """
    if not text.startswith("<think>\n"):
        return False
    middle = text.find(_MIDDLE, 8)
    if middle == -1:
        return False
    close = text.find(_CLOSE, middle + len(_MIDDLE))
    while close != -1:
        after = close + len(_CLOSE)
        if after == len(text) or text[after] == "\n":
            return True
        close = text.find(_CLOSE, close + 1)
    return False


@dataclass
class ThinkAnswerFormat(Reward):
    """1.0 when the completion is open-r1's ``<think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>`` layout, else 0.0.

    Exactly open-r1's ``format_reward`` (see :func:`is_think_answer_format`).

    >>> ThinkAnswerFormat()(completions=["<think>\\nhmm\\n</think>\\n<answer>\\n4\\n</answer>", "<think>hmm</think>4"])
    [1.0, 0.0]
    """

    __name__ = "think_answer_format"
    score_range = (0.0, FORMAT_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        return FORMAT_SCORE if is_think_answer_format(text) else 0.0


@dataclass
class ThinkAnswerTagCount(Reward):
    """0.25 for each of ``<think>\\n``, ``\\n</think>\\n``, ``\\n<answer>\\n``, ``\\n</answer>`` seen exactly once.

    Exactly open-r1's ``tag_count_reward``: partial credit on the way to :class:`ThinkAnswerFormat`.

    >>> ThinkAnswerTagCount()(completions=["<think>\\nhmm\\n</think>\\n<answer>\\n4\\n</answer>", "<think>\\nhmm"])
    [1.0, 0.25]
    """

    __name__ = "think_answer_tag_count"
    score_range = (0.0, 4 * TAG_SCORE)

    def score(self, text: str, answer: str | None) -> Score:
        count = 0.0
        if text.count("<think>\n") == 1:
            count += TAG_SCORE
        if text.count("\n</think>\n") == 1:
            count += TAG_SCORE
        if text.count("\n<answer>\n") == 1:
            count += TAG_SCORE
        if text.count("\n</answer>") == 1:
            count += TAG_SCORE
        return count
