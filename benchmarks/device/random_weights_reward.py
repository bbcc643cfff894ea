"""A reward for runs on random-init weights only (`install.sh app` adds it to every app's rewards): it scores a
completion's length in characters, which varies on random text where every tutorial reward is constant.

With constant rewards every GRPO advantage is 0, and at step 1 the policy equals the reference, so the KL term has no
gradient either: the LoRA stays exactly zero and the app rightly refuses to save it. This gives the rewards a
spread, so the run trains and exports as it would on real weights. Never meant for a real model.

    >>> text_length([[{"role": "assistant", "content": "abc"}], [{"role": "assistant", "content": "abcdef"}]])
    [0.003, 0.006]
"""

from __future__ import annotations


def text_length(completions: list, **columns: object) -> list[float]:
    """One thousandth of each completion's length in characters (the last message's content, or the text)."""
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return [len(text) / 1000 for text in texts]
