"""A reward that varies on any text: a completion's length in characters, in thousandths.

The R1 journey trains a 135 M model for two steps, where the tutorial's `<think>` rewards are the same for every
completion of a prompt (no GRPO advantage, so the LoRA would rightly be refused as untrained); this reward gives
them a spread, so the journey reaches its export and push.
"""

from __future__ import annotations


def completion_characters(completions: list, **columns: object) -> list[float]:
    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    return [len(text) / 1000 for text in texts]
