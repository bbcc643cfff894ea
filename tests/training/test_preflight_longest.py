"""Longest first: step 1 generates for the longest training prompts; every prompt still comes once per epoch."""

from __future__ import annotations

import pytest

from grpo_training.model.backends import select_backend
from grpo_training.recipe import recipe_from_dict
from grpo_training.preflight.longest_first import longest_first
from grpo_training.prepare import build_reward_funcs, prepare_data, with_prefill
from grpo_training.run.steps import build_trainer, load_model
from tiny_model import build_tiny_model, tiny_recipe


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_longest_prompts_are_swapped_to_the_front_and_none_is_lost():
    lengths = [5, 50, 7, 40, 6, 45]
    order = longest_first([4, 0, 2, 5, 1, 3], lengths, batch=3)
    assert sorted(order) == list(range(6))
    assert sorted(order[:3]) == [1, 3, 5]


@pytest.mark.slow
@pytest.mark.parametrize("on", [True, False])
def test_step_one_trains_on_the_longest_prompts(tiny_dir, tmp_path, on):
    import grpo_data

    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path, grpo={"max_steps": 1, "per_device_train_batch_size": 8},
                                          run={"longest_first": on}))
    backend = select_backend("trl")
    model, tokenizer = load_model(recipe, backend)
    train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    prepared = prepare_data(recipe, train_tokenizer)
    seen: list[str] = []

    def recorder(prompts, completions, question, **kwargs):
        seen.extend(question)
        return [0.0] * len(completions)

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rewards = [recorder, *build_reward_funcs(recipe, train_tokenizer)]
    trainer, _ = build_trainer(recipe, model, train_tokenizer, prepared, run_dir, backend, reward_funcs=rewards)
    epoch = list(trainer._get_train_sampler())
    assert sorted(set(epoch)) == list(range(prepared.train.num_rows))  # every prompt once per epoch (x repeats)
    trainer.train()

    lengths = grpo_data.prompt_token_lengths(prepared.train, train_tokenizer)
    longest = {prepared.train[i]["question"] for i in sorted(range(len(lengths)), key=lambda i: -lengths[i])[:2]}
    assert len(seen) == 8  # 2 prompts x 4 completions
    assert (set(seen) == longest) is on
