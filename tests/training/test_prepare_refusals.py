"""Data that cannot train is refused before any model loads, saying why; one enormous prompt cannot
set everyone's prompt budget."""

from __future__ import annotations

import json

import pytest

from grpo_training.recipe import DEMO_RECIPE, RecipeError, load_recipe
from grpo_training.prepare import load_prompts, prepare_data, with_prefill


def good_rows(count: int) -> list[dict]:
    """`count` usable rows, each its own question (a repeated question is kept once)."""
    return [{"question": f"Tom has 2 apples and gets {n} more. How many apples does he have?",
             "answer": f"2 + {n} = {2 + n}\n#### {2 + n}"} for n in range(count)]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_data_file_with_no_usable_row_says_no_training_prompts_left_with_the_reasons(tmp_path):
    source = write_jsonl(tmp_path / "train.jsonl", [{"question": "q?", "answer": "4"}] * 3)
    recipe = load_recipe(DEMO_RECIPE, [f"data.source={source}", "data.eval_rows=0"])
    with pytest.raises(RecipeError) as error:
        load_prompts(recipe)  # what a run does before it loads the model
    message = str(error.value)
    assert message.startswith("data: no training prompts left: ")
    assert str(source) in message and "no_final_answer_marker: 3" in message


def test_more_held_out_rows_than_the_file_has_is_refused_before_the_model(tmp_path):
    source = write_jsonl(tmp_path / "train.jsonl", good_rows(5))
    recipe = load_recipe(DEMO_RECIPE, [f"data.source={source}", "data.eval_rows=64"])
    with pytest.raises(RecipeError, match=r"data.eval_rows: 64 held-out rows asked for, but .* has 5 usable rows"):
        load_prompts(recipe)


def test_one_enormous_prompt_is_dropped_and_counted_not_made_the_budget(tmp_path):
    from transformers import AutoTokenizer

    from grpo_training.embedded import embedded_model_path

    enormous = {"question": "How many apples? " + "apple " * 3000, "answer": "#### 1"}
    source = write_jsonl(tmp_path / "train.jsonl", good_rows(20) + [enormous])
    recipe = load_recipe(DEMO_RECIPE, [f"data.source={source}", "data.eval_rows=0"])  # no max_prompt_length
    tokenizer = with_prefill(AutoTokenizer.from_pretrained(embedded_model_path()), recipe.data.prefill)
    prepared = prepare_data(recipe, tokenizer)
    completion = recipe.grpo["max_completion_length"]
    assert prepared.max_prompt_length <= recipe.model.max_seq_length - completion
    assert prepared.stats["dropped_too_long"] == 1 and prepared.train.num_rows == 20
