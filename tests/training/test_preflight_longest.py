"""Longest first: step 1 generates for the longest training prompts, to the full completion budget; every prompt
still comes once per epoch and later generations end where the model ends them."""

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


def trainer_with(recipe, recorder, tmp_path, adjust_model=None):
    """The run's trainer (trl backend) on the recipe's model, with `recorder` as its first reward:
    (trainer, prepared data, prefill tokenizer); `adjust_model(model, tokenizer)` runs before the data."""
    backend = select_backend("trl")
    model, tokenizer = load_model(recipe, backend)
    if adjust_model is not None:
        adjust_model(model, tokenizer)
    train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    prepared = prepare_data(recipe, train_tokenizer)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rewards = [recorder, *build_reward_funcs(recipe, train_tokenizer)]
    trainer, _ = build_trainer(recipe, model, train_tokenizer, prepared, run_dir, backend, reward_funcs=rewards)
    return trainer, prepared, train_tokenizer


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
    seen: list[str] = []

    def recorder(prompts, completions, question, **kwargs):
        seen.extend(question)
        return [0.0] * len(completions)

    trainer, prepared, train_tokenizer = trainer_with(recipe, recorder, tmp_path)
    epoch = list(trainer._get_train_sampler())
    assert sorted(set(epoch)) == list(range(prepared.train.num_rows))  # every prompt once per epoch (x repeats)
    trainer.train()

    lengths = grpo_data.prompt_token_lengths(prepared.train, train_tokenizer)
    longest = {prepared.train[i]["question"] for i in sorted(range(len(lengths)), key=lambda i: -lengths[i])[:2]}
    assert len(seen) == 8  # 2 prompts x 4 completions
    assert (set(seen) == longest) is on


@pytest.mark.parametrize("on", [True, False])
def test_the_first_generation_runs_to_the_full_completion_budget_and_later_ones_end_as_they_end(tiny_dir, tmp_path, on):
    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path, grpo={"max_steps": 2, "max_completion_length": 6},
                                          run={"longest_first": on}))
    lengths_per_step: list[list[int]] = []

    def recorder(prompts, completions, completion_ids, **kwargs):
        lengths_per_step.append([len(ids) for ids in completion_ids])
        return [0.0] * len(completions)

    def end_at_once(model, tokenizer):  # this model ends every completion with its first token
        def hook(module, inputs, logits):
            logits[..., tokenizer.eos_token_id] += 1e4
            return logits

        model.get_output_embeddings().register_forward_hook(hook)

    trainer, _, _ = trainer_with(recipe, recorder, tmp_path, adjust_model=end_at_once)
    trainer.train()

    first, second = lengths_per_step
    assert (first == [6] * 4) is on  # held to the budget only when asked
    assert max(second) <= 1  # the second generation ends where the model ends it
    assert not trainer.generation_config.min_new_tokens and "min_new_tokens" not in trainer.generation_kwargs
