"""Find a tokenizer's reasoning markers and chat-role tokens, as tutorial 2 does for DeepSeek-R1-Qwen3.

Tutorial 2 scans `tokenizer.get_added_vocab()`: a token containing "think" and "/" ends reasoning,
one containing "think" starts it, one containing "user" / "assistant" marks those roles. Models
without such tokens (SmolLM2, Phi-4) get the textual `<think>` / `</think>` markers instead, which
the reward functions match as plain text just the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEXT_REASONING_START = "<think>"
TEXT_REASONING_END = "</think>"


@dataclass(frozen=True)
class ReasoningTokens:
    """The markers a "think"-format recipe uses.

    Attributes:
        reasoning_start: text that opens the reasoning (e.g. "<think>").
        reasoning_end: text that closes it (e.g. "</think>").
        user_token: the tokenizer's user-role token, or None when it has none.
        assistant_token: the tokenizer's assistant-role token, or None when it has none.
        from_vocabulary: True when the reasoning markers are tokens of the tokenizer's added
            vocabulary; False when the textual fallback is used.
    """

    reasoning_start: str
    reasoning_end: str
    user_token: str | None
    assistant_token: str | None
    from_vocabulary: bool


def find_reasoning_tokens(tokenizer: Any) -> ReasoningTokens:
    """Find the reasoning start/end and user/assistant tokens in `tokenizer.get_added_vocab()`.

    The tutorial's loop keeps the last match of each kind, which depends on dict order; here the
    tokens are visited in id order and the first match of each kind wins. The reasoning markers
    are taken from the vocabulary only when both are there; otherwise both fall back to
    `<think>` / `</think>` (a half-found pair would produce completions no reward can match).

    Args:
        tokenizer: any Hugging Face tokenizer.

    Returns:
        The markers found (see `ReasoningTokens`).

    Example:
        >>> from grpo_training.embedded import embedded_model_path
        >>> from transformers import AutoTokenizer
        >>> tokens = find_reasoning_tokens(AutoTokenizer.from_pretrained(embedded_model_path()))
        >>> (tokens.reasoning_start, tokens.reasoning_end, tokens.from_vocabulary)
        ('<think>', '</think>', False)
    """
    start = end = user = assistant = None
    for token, _ in sorted(tokenizer.get_added_vocab().items(), key=lambda item: item[1]):
        lowered = token.lower()
        if "think" in lowered and "/" in lowered:
            end = end or token
        elif "think" in lowered:
            start = start or token
        elif "user" in lowered:
            user = user or token
        elif "assistant" in lowered:
            assistant = assistant or token
    if start is not None and end is not None:
        return ReasoningTokens(start, end, user, assistant, from_vocabulary=True)
    return ReasoningTokens(TEXT_REASONING_START, TEXT_REASONING_END, user, assistant, from_vocabulary=False)
