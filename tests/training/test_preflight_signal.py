"""The learning-signal pre-flight: the demo's rewards vary on the demo model's completions; a reward that never
varies, or a gold column read from the wrong field, stops the run before its first step with one `error:` line."""

from __future__ import annotations

import json

import pytest

from grpo_training.cli import main as cli
from grpo_training.recipe import DEMO_RECIPE, load_recipe, recipe_from_dict
from grpo_training.preflight.learning_signal import FlatRewardsError, score_completions, score_groups
from grpo_training.prepare import build_reward_funcs, load_prompts
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

CONSTANT_REWARD = '''
def constant(completions, **kwargs):
    return [1.0] * len(completions)
'''


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_flat_groups_are_counted_per_reward_and_for_the_total():
    signal = score_groups(["a", "b"], [[1, 1, 0, 1], [0, 0, 0, 0]], [1.0, 1.0], generations=2)
    assert [s.flat_share for s in signal.rewards] == [0.5, 1.0]
    assert signal.total_flat_share == 0.5 and not signal.all_flat
    assert [s.name for s in signal.never_vary] == ["b"]
    assert score_groups(["a"], [[None, None, 2, 2]], [1.0], generations=2).all_flat  # None: not applicable


def xml(answer: str) -> str:
    """A well-formed completion after the `<reasoning>\\n` prefill, answering `answer`."""
    return f"Adding it up.\n</reasoning>\n<answer>\n{answer}\n</answer>\n"


def test_a_gold_column_of_the_wrong_field_is_caught(tiny_dir, tmp_path):
    # Completions as a model that solves half the time gives them: the same format, right and wrong numbers.
    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path, rewards={"funcs": ["xmlcount", "strict_format",
                                                                                  "integer", "correctness"]}))
    rows = [dict(row) for row in load_prompts(recipe)[0].select(range(3))]
    completions = [xml(answer) for row in rows for answer in (row["answer"], "1", row["answer"], "1")]
    funcs = build_reward_funcs(recipe)
    right = score_completions(recipe, funcs, rows, completions)
    assert not right.all_flat and right.total_flat_share == 0.0
    assert [s.name for s in right.never_vary] == ["xmlcount", "strict_format", "integer"]  # format alone: flat
    misread = [{**row, "answer": row["question"]} for row in rows]  # the question's column read as the gold
    wrong = score_completions(recipe, funcs, misread, completions)
    assert wrong.all_flat and wrong.total_flat_share == 1.0


@pytest.mark.slow
def test_a_constant_reward_stops_the_run_before_training(tiny_dir, tmp_path, capsys):
    reward_file = tmp_path / "constant_reward.py"
    reward_file.write_text(CONSTANT_REWARD)
    # On a random model's gibberish strict_format is 0 for every completion: with the constant, nothing varies.
    raw = tiny_recipe(tiny_dir, tmp_path, rewards={"funcs": [f"{reward_file}:constant", "strict_format"]},
                      run={"signal_check_prompts": 2})
    path = write_recipe(raw, tmp_path / "recipe.yaml")
    status = cli.main(["train", str(path), "--backend", "trl"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1, errors
    assert errors[0].startswith("error: rewards: the learning-signal pre-flight's 2 prompts x 4 completions got the "
                                "same reward within every prompt from every reward (constant always 1, "
                                "strict_format always 0)")
    assert "data.prefill ('<reasoning>\\n')" in errors[0] and "run.allow_flat_rewards=true" in errors[0]
    run_dir = tmp_path / "tiny"
    assert not (run_dir / "lora").exists() and not list(run_dir.glob("checkpoint-*"))
    assert "Learning signal: 2 prompts x 4 completions" in (run_dir / "train.log").read_text()


def test_allow_flat_rewards_goes_on_with_a_warning(tiny_dir, tmp_path, caplog):
    from grpo_training.model.backends import select_backend
    from grpo_training.preflight.learning_signal import check_learning_signal
    from grpo_training.prepare import prepare_data, with_prefill
    from grpo_training.run.steps import load_model

    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path, rewards={"funcs": ["strict_format"]},
                                          run={"signal_check_prompts": 1, "allow_flat_rewards": True}))
    model, tokenizer = load_model(recipe, select_backend("trl"))
    train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    prepared = prepare_data(recipe, train_tokenizer)
    signal = check_learning_signal(recipe, model, train_tokenizer, prepared, build_reward_funcs(recipe, train_tokenizer))
    assert signal.all_flat and "run.allow_flat_rewards is true: training anyway" in caplog.text
    recipe.run.allow_flat_rewards = False
    with pytest.raises(FlatRewardsError, match="strict_format always 0"):
        check_learning_signal(recipe, model, train_tokenizer, prepared, build_reward_funcs(recipe, train_tokenizer))


@pytest.mark.slow
def test_a_run_records_both_pre_flights_in_result_json(tiny_dir, tmp_path):
    from grpo_training.run.grpo import run_grpo

    # tiny_recipe's language reward varies on a random model's gibberish.
    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path, grpo={"max_steps": 1}, run={"signal_check_prompts": 2},
                                          model={"gpu_memory": "24GB"}))
    result = run_grpo(recipe, backend="trl")
    saved = json.loads((result.run_dir / "result.json").read_text())
    signal = saved["learning_signal"]
    assert signal["prompts"] == 2 and signal["generations"] == 4 and not signal["all_flat"]
    assert {r["name"] for r in signal["rewards"]} == {"xmlcount", "soft_format", "integer", "language"}
    plan = saved["memory_plan"]
    assert plan["fits"] and plan["budget_gib"] == 24.0 and set(plan["rows"]) >= {"weights", "logits", "CUDA"}
    log = (result.run_dir / "train.log").read_text()
    assert log.index("Memory plan for") < log.index("Stage: loading the model") < log.index("Learning signal:")


@pytest.mark.slow
def test_the_demo_recipe_passes_the_learning_signal_check(tmp_path):
    from grpo_training.model.backends import select_backend
    from grpo_training.preflight.learning_signal import check_learning_signal
    from grpo_training.prepare import prepare_data, with_prefill
    from grpo_training.run.steps import load_model

    recipe = load_recipe(DEMO_RECIPE, ["run.signal_check_prompts=2", "run.report_to=none",
                                       f"run.output_dir={tmp_path}"])
    model, tokenizer = load_model(recipe, select_backend("trl"))
    train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    prepared = prepare_data(recipe, train_tokenizer)
    signal = check_learning_signal(recipe, model, train_tokenizer, prepared, build_reward_funcs(recipe, train_tokenizer))
    assert not signal.all_flat and signal.total_flat_share < 1.0
