"""filter_by_prompt_length with SmolLM2's real tokenizer and chat template."""

from __future__ import annotations

import pytest

from grpo_data import filter_by_prompt_length, load_gsm8k, prompt_token_lengths, synthetic_gsm8k


@pytest.fixture(scope="module")
def gsm8k_test(gsm8k_dir):
    return load_gsm8k(gsm8k_dir, split="test")


@pytest.mark.parametrize("quantile", [0.5, 0.9])
def test_kept_fraction_is_about_the_quantile(gsm8k_test, smollm2_tokenizer, quantile):
    kept, stats = filter_by_prompt_length(gsm8k_test, smollm2_tokenizer, quantile, max_seq_length=512)
    assert stats.rows_read == gsm8k_test.num_rows == 1319
    assert stats.rows_kept == kept.num_rows
    assert abs(kept.num_rows / gsm8k_test.num_rows - quantile) < 0.03
    assert stats.max_prompt_length == stats.quantile_length + 1
    assert stats.max_completion_length == 512 - stats.max_prompt_length
    assert stats.min_length <= stats.quantile_length <= stats.max_length
    assert stats.to_dict()["rows_dropped"] == gsm8k_test.num_rows - kept.num_rows


def test_lengths_match_one_prompt_at_a_time(gsm8k_test, smollm2_tokenizer):
    sample = gsm8k_test.select(range(0, 1319, 97))
    batched = prompt_token_lengths(sample, smollm2_tokenizer, batch_size=4)
    one_by_one = [
        len(smollm2_tokenizer(smollm2_tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False),
                              add_special_tokens=False)["input_ids"])
        for p in sample["prompt"]
    ]
    assert batched == one_by_one


def test_every_kept_prompt_fits_and_every_dropped_one_does_not(smollm2_tokenizer):
    rows = load_gsm8k(synthetic_gsm8k(300, seed=1))
    kept, stats = filter_by_prompt_length(rows, smollm2_tokenizer, 0.8)
    assert stats.max_completion_length is None
    kept_lengths = prompt_token_lengths(kept, smollm2_tokenizer)
    assert max(kept_lengths) <= stats.quantile_length
    kept_questions = set(kept["question"])
    dropped = rows.filter(lambda row: row["question"] not in kept_questions)
    assert min(prompt_token_lengths(dropped, smollm2_tokenizer)) > stats.quantile_length


def test_no_room_for_completion_is_a_clear_error(smollm2_tokenizer):
    rows = load_gsm8k(synthetic_gsm8k(20, seed=0))
    with pytest.raises(ValueError, match="leaves no room for completions"):
        filter_by_prompt_length(rows, smollm2_tokenizer, 0.9, max_seq_length=10)


@pytest.mark.parametrize("quantile", [0.0, 1.5])
def test_quantile_out_of_range(smollm2_tokenizer, quantile):
    with pytest.raises(ValueError, match="quantile"):
        filter_by_prompt_length(load_gsm8k(synthetic_gsm8k(5)), smollm2_tokenizer, quantile)


def test_needs_a_prompt_column(smollm2_tokenizer):
    with pytest.raises(ValueError, match="no 'prompt' column"):
        filter_by_prompt_length(synthetic_gsm8k(5), smollm2_tokenizer)
