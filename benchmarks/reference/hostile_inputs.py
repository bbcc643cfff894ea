"""Hypothesis strategies for hostile reward inputs; shared by the property tests and benchmarks/fuzz_rewards.py."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

TAGS = [
    "<reasoning>", "</reasoning>", "<answer>", "</answer>", "<think>", "</think>",
    "<reasoning>\n", "\n</reasoning>\n", "\n<answer>\n", "\n</answer>", "\n</answer>\n", "\\boxed{", "}", "$",
]
PIECES = TAGS + ["\n", " ", "\t", "72", "-3", "1,080", "0", "0.0", "1e400", "nan", "inf", ".", ",", "-", "%",
                 "Aku berpikir", "the answer is", "我在这里", "\u2212", "\x00", "\ud7ff", "🙂", "\\frac{1}{2}"]

# Any Python str: Hypothesis's text() never holds a lone surrogate ("\ud800"), which a str may (and which
# strict UTF-8 encoding refuses), so they are mixed in as pieces of their own.
lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
any_text = st.lists(st.one_of(st.text(max_size=8), lone_surrogates), max_size=20).map("".join)
tag_soup = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4), lone_surrogates), max_size=40).map("".join)
huge = st.builds(lambda piece, times: piece * times, st.one_of(st.sampled_from(PIECES), st.text(min_size=1, max_size=8)), st.integers(500, 4000))
texts = st.one_of(st.text(), any_text, tag_soup, huge)
golds = st.one_of(st.none(), st.sampled_from(["72", "0", "-3", "1,080", "0.5", "\\frac{1}{2}", ""]), st.text(max_size=12), any_text,
                  st.integers(-10**6, 10**6))


def _message(content: Any) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": content}]


completions = st.one_of(
    texts,
    texts.map(_message),
    st.sampled_from([None, [], [{}], [{"role": "assistant"}], ["x"], 42, b"bytes"]),
    st.just(_message(None)),
    st.lists(texts, min_size=1, max_size=2).map(lambda parts: [{"role": "assistant", "content": [{"type": "text", "text": p} for p in parts]}]),
)
batches = st.lists(st.tuples(completions, golds), min_size=1, max_size=4)


def check_scores(reward, batch: list[tuple[Any, Any]]) -> int:
    """Call ``reward`` on a hostile batch; assert every score is a number in its documented range.

    ``None`` is allowed only for rewards that read the gold answer. Returns the number of scores.
    """
    completions_, answers = zip(*batch)
    # TRL passes the token ids too (soft_overlong and cosine count them).
    completion_ids = [[0] * (len(repr(c)) % 400) for c in completions_]
    scores = reward(prompts=[[{"role": "user", "content": "q"}]] * len(batch), completions=list(completions_), answer=list(answers),
                    completion_ids=completion_ids)
    assert len(scores) == len(batch)
    lo, hi = reward.score_range
    for score in scores:
        if score is None:
            assert reward.needs_answer, f"{reward.__name__} returned None"
            continue
        assert isinstance(score, float), f"{reward.__name__} returned {score!r}"
        assert not math.isnan(score) and lo <= score <= hi, f"{reward.__name__} scored {score} outside {reward.score_range}"
    return len(scores)
