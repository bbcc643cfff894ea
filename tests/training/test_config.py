"""Recipe loading, overrides and early validation: bad recipes fail before any model loads, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grpo_training.cli import main as cli
from grpo_training.recipe import DEMO_RECIPE, RecipeError, load_recipe, recipe_from_dict
from grpo_training.recipe.lengths import GRPOLengths

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def demo_raw() -> dict:
    return yaml.safe_load(DEMO_RECIPE.read_text())


def test_demo_recipe_loads_with_stated_beta_and_loss_type():
    recipe = load_recipe(DEMO_RECIPE)
    assert recipe.grpo["beta"] == 0.0 and recipe.grpo["loss_type"] == "dapo"
    assert recipe.rewards.names == ["xmlcount", "soft_format", "strict_format", "integer", "correctness"]
    assert recipe.data.prefill == "<reasoning>\n"


def test_overrides_are_typed_like_the_field():
    recipe = load_recipe(DEMO_RECIPE, [
        "grpo.learning_rate=1e-5",            # PyYAML reads this as a string; the field is a float
        "grpo.max_steps=3",
        "lora.target_modules=[q_proj, v_proj]",
        "rewards.funcs.0=soft_format",
        "data.source=synthetic",
        "run.swanlab_mode=cloud",
        "model.name=some/model",
    ])
    assert recipe.grpo["learning_rate"] == pytest.approx(1e-5) and isinstance(recipe.grpo["learning_rate"], float)
    assert recipe.grpo["max_steps"] == 3
    assert recipe.lora.target_modules == ["q_proj", "v_proj"]
    assert recipe.rewards.names[0] == "soft_format"
    assert recipe.run.swanlab_mode == "cloud"
    assert recipe.model.name == "some/model"


def test_reward_entries_with_weights_and_params():
    raw = demo_raw()
    raw["rewards"] = {"funcs": ["xmlcount", {"name": "language", "weight": 2.0, "params": {"target": "id"}}],
                      "params": {"log_every": 0}}
    recipe = recipe_from_dict(raw)
    assert [spec.weight for spec in recipe.rewards.funcs] == [1.0, 2.0]
    assert recipe.rewards.funcs[1].params == {"target": "id"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["rewards"]["funcs"].append("no_such_reward"), "rewards[5].name"),
        (lambda r: r["grpo"].update(learning_rate="fast"), "grpo.learning_rate"),
        (lambda r: r["grpo"].update(max_stepz=3), "grpo.max_stepz"),
        (lambda r: r["grpo"].update(num_generations=[4]), "grpo.num_generations"),
        (lambda r: r["model"].update(max_seq_length="long"), "model.max_seq_length"),
        (lambda r: r["lora"].update(rank=8), "lora.rank"),
        (lambda r: r["data"].update(source="./no/such/train.jsonl"), "data.source"),
        (lambda r: r["data"].update(loader="mnist"), "data.loader"),
        (lambda r: r["grpo"].update(output_dir="elsewhere"), "grpo.output_dir"),
        (lambda r: r["grpo"].update(seed=1), "grpo.seed"),
        (lambda r: r.update(extras={}), "extras"),
        (lambda r: r["rewards"].update(funcs=[{"name": "soft_format", "params": {"targt": "id"}}]),
         "rewards[0].params.targt"),
        (lambda r: r["run"].update(backend="jax"), "run.backend"),
    ],
)
def test_bad_recipes_name_the_field(tmp_path, change, field):
    raw = demo_raw()
    change(raw)
    with pytest.raises(RecipeError) as error:
        load_recipe(write(tmp_path, raw))
    assert str(error.value).startswith(field), str(error.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("grpo.learning_rate=0", "grpo.learning_rate: must be > 0, got 0"),
        ("grpo.learning_rate=-1e-5", "grpo.learning_rate: must be > 0"),
        ("grpo.max_steps=0", "grpo.max_steps: must be >= 1, or -1 to train for grpo.num_train_epochs, got 0"),
        ("grpo.max_steps=-5", "grpo.max_steps: must be >= 1, or -1"),
        ("grpo.num_train_epochs=0", "grpo.num_train_epochs: must be > 0"),
        ("grpo.per_device_train_batch_size=0", "grpo.per_device_train_batch_size: must be >= 1"),
        ("grpo.gradient_accumulation_steps=-2", "grpo.gradient_accumulation_steps: must be >= 1"),
        ("grpo.num_generations=1", "grpo.num_generations: must be >= 2"),
        ("grpo.max_completion_length=0", "grpo.max_completion_length: must be >= 1"),
        ("grpo.max_prompt_length=512", "grpo.max_prompt_length: 512 tokens fill model.max_seq_length=512"),
        ("grpo.temperature=0", "grpo.temperature: must be > 0"),
        ("grpo.top_p=1.5", "grpo.top_p: must be in (0, 1]"),
        ("grpo.save_steps=-1", "grpo.save_steps: must be > 0, or 0 to save no checkpoints"),
        ("lora.r=0", "lora.r: must be >= 1"),
        ("lora.dropout=1", "lora.dropout: must be in [0, 1)"),
        ("model.max_seq_length=-1", "model.max_seq_length: must be >= 2"),
        ("model.gpu_memory_utilization=0", "model.gpu_memory_utilization: must be in (0, 1]"),
        ("data.eval_rows=512", "data.eval_rows: 512 held-out rows of 512 synthetic rows leave none for training"),
        ("data.max_train_rows=0", "data.max_train_rows: must be >= 1"),
        ("evaluation.max_new_tokens=0", "evaluation.max_new_tokens: must be >= 1"),
        ("evaluation.batch_size=0", "evaluation.batch_size: must be >= 1"),
        ("evaluation.temperature=-0.5", "evaluation.temperature: must be >= 0"),
        ("run.log_completions_every=-1", "run.log_completions_every: must be >= 0"),
    ],
)
def test_impossible_values_are_refused_before_any_model_loads(override, message):
    with pytest.raises(RecipeError) as error:
        load_recipe(DEMO_RECIPE, [override])
    assert str(error.value).startswith(message), str(error.value)


def test_prompt_and_completion_budgets_over_the_context_are_warned_about(caplog):
    with caplog.at_level("WARNING", logger="grpo_training.recipe"):
        load_recipe(DEMO_RECIPE, ["grpo.max_prompt_length=300", "grpo.max_completion_length=300"])
    assert "grpo.max_prompt_length + grpo.max_completion_length = 600 exceeds model.max_seq_length = 512" in caplog.text


def test_completion_budget_is_derived_once_the_prompt_budget_is_known():
    lengths = GRPOLengths.from_recipe(load_recipe(DEMO_RECIPE, ["grpo.max_completion_length=null"]))
    assert lengths.max_completion_length is None and lengths.prompt_cap == 256  # before the data: half the context
    settled = lengths.with_prompt_budget(200)
    assert (settled.max_prompt_length, settled.max_completion_length, settled.completion_is_derived) == (200, 312, True)
    fixed = GRPOLengths.from_recipe(load_recipe(DEMO_RECIPE), prompt_budget=200)  # the demo sets 96
    assert (fixed.max_completion_length, fixed.completion_is_derived, fixed.prompt_cap) == (96, False, 416)


def test_max_steps_minus_one_means_train_for_num_train_epochs():
    recipe = load_recipe(DEMO_RECIPE, ["grpo.max_steps=-1", "grpo.num_train_epochs=1"])
    assert recipe.grpo["max_steps"] == -1
    assert load_recipe(DEMO_RECIPE, ["evaluation.temperature=0"]).evaluation.temperature == 0  # greedy evaluation
    assert load_recipe(DEMO_RECIPE, ["grpo.save_steps=0"]).grpo["save_steps"] == 0  # no checkpoints (benchmarks)


def test_cli_check_refuses_an_impossible_value_with_one_clean_line(capsys):
    assert cli.main(["train", str(DEMO_RECIPE), "--check", "--set", "grpo.learning_rate=-1"]) == 2
    assert capsys.readouterr().err == "error: grpo.learning_rate: must be > 0, got -1\n"


def test_bad_override_syntax_is_explained():
    with pytest.raises(RecipeError, match="section.field=value"):
        load_recipe(DEMO_RECIPE, ["learning_rate=1e-5"])


def test_missing_recipe_file_is_named(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml")


def test_existing_local_data_file_is_accepted(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    recipe = load_recipe(DEMO_RECIPE, [f"data.source={data}"])
    assert recipe.data.source == str(data)


def test_cli_rejects_a_bad_recipe_before_loading_any_model(tmp_path, monkeypatch, capsys):
    import grpo_training.model.backends as backends

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded for a bad recipe")

    monkeypatch.setattr(backends, "load_model_trl", refuse)
    monkeypatch.setattr(backends, "load_model_unsloth", refuse)
    raw = demo_raw()
    raw["rewards"]["funcs"] = ["xmlcount", "tag_count"]
    status = cli.main(["train", str(write(tmp_path, raw))])
    assert status == 2
    assert "rewards[1].name: unknown reward 'tag_count'" in capsys.readouterr().err


def test_cli_check_accepts_the_demo(capsys):
    assert cli.main(["train", str(DEMO_RECIPE), "--check", "--set", "grpo.max_steps=2"]) == 0
    assert "recipe OK" in capsys.readouterr().out


def test_every_app_recipe_parses():
    recipes = sorted(REPO.glob("apps/*/*.yaml"))
    if not recipes:
        pytest.skip("no app recipes in this checkout yet")
    for path in recipes:
        load_recipe(path)
