"""Tutorial 2's reasoning/user/assistant token discovery, with the textual fallback."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from grpo_training.embedded import embedded_model_path
from grpo_training.reasoning_tokens import ReasoningTokens, find_reasoning_tokens


@pytest.fixture
def smollm2_tokenizer():
    return AutoTokenizer.from_pretrained(embedded_model_path())


def test_smollm2_has_no_reasoning_tokens_so_text_markers_are_used(smollm2_tokenizer):
    tokens = find_reasoning_tokens(smollm2_tokenizer)
    assert tokens == ReasoningTokens("<think>", "</think>", None, None, from_vocabulary=False)


def test_tokens_added_like_deepseek_r1_qwen3_are_found(smollm2_tokenizer):
    smollm2_tokenizer.add_special_tokens(
        {"additional_special_tokens": ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]}
    )
    tokens = find_reasoning_tokens(smollm2_tokenizer)
    assert tokens == ReasoningTokens("<think>", "</think>", "<｜User｜>", "<｜Assistant｜>", from_vocabulary=True)
    # They really are single tokens now, so a completion's markers are atomic.
    assert len(smollm2_tokenizer.encode("</think>", add_special_tokens=False)) == 1


def test_differently_spelled_markers_are_found_by_substring(smollm2_tokenizer):
    smollm2_tokenizer.add_tokens(["<|start_think|>", "<|/think|>"])
    tokens = find_reasoning_tokens(smollm2_tokenizer)
    assert (tokens.reasoning_start, tokens.reasoning_end) == ("<|start_think|>", "<|/think|>")


def test_half_a_pair_falls_back_to_text_for_both(smollm2_tokenizer):
    smollm2_tokenizer.add_tokens(["<think>"])
    tokens = find_reasoning_tokens(smollm2_tokenizer)
    assert (tokens.reasoning_start, tokens.reasoning_end, tokens.from_vocabulary) == ("<think>", "</think>", False)
