"""The CPU demo recipe of tutorial 1 (grpo_training/recipe/recipes/demo_cpu.yaml): valid, and what the demo tuning chose."""

from __future__ import annotations


import pytest

from grpo_training.recipe import RecipeError, load_recipe
from grpo_training.recipe import DEMO_RECIPE as DEMO
from grpo_training.prepare import load_prompts


def test_demo_recipe_is_valid_and_holds_out_enough_prompts():
    recipe = load_recipe(DEMO)
    assert recipe.model.name is None  # the embedded model
    assert recipe.data.eval_rows >= 64  # the acceptance measures >= 64 held-out prompts
    assert recipe.grpo["beta"] == 0.0 and recipe.grpo["loss_type"] == "dapo"  # stated, not inherited
    assert recipe.evaluation.task == "xml" and recipe.data.prefill == "<reasoning>\n"
    names = [spec.name for spec in recipe.rewards.funcs]
    assert {"strict_format", "xmlcount", "correctness"} <= set(names)


def test_one_shot_puts_the_worked_example_before_the_question():
    rows, stats = load_prompts(load_recipe(DEMO, ["data.synthetic_rows=3", "data.eval_rows=0"]))  # 64 of 3: refused
    roles = [message["role"] for message in rows[0]["prompt"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert rows[0]["prompt"][2]["content"].startswith("<reasoning>\n")
    assert stats["rows_kept"] == 3


def test_one_shot_with_the_dapo_loader_is_refused_naming_the_field():
    with pytest.raises(RecipeError, match="data.one_shot"):
        load_recipe(DEMO, ["data.loader=dapo"])
