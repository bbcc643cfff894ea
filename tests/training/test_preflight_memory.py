"""The memory pre-flight: the plan's counts, the `plan` command, and a recipe over its stated card refused before
any model loads, naming the need, the budget and the settings that would fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpo_training.cli import main as cli
from grpo_training.recipe import RecipeError, load_recipe, recipe_from_dict
from grpo_training.preflight import ModelShape, parse_memory_size, plan_memory, read_model_shape
from grpo_training.preflight.memory_plan import tiny_llama_config, vllm_graphs, vllm_sequences
from grpo_training.memory_sizes import GIB
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

APPS = Path(__file__).resolve().parents[2] / "apps"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def big_recipe(tiny_dir, tmp_path, **grpo):
    """The tiny model with a long completion budget: its logits dominate the plan."""
    values = {"num_generations": 8, "per_device_train_batch_size": 8, "max_completion_length": 400, **grpo}
    return tiny_recipe(tiny_dir, tmp_path, model={"max_seq_length": 512}, grpo=values)


def test_memory_sizes_read_as_cards_are_sold():
    assert parse_memory_size("24GB") == parse_memory_size("24 GiB") == parse_memory_size(24) == 24 * GIB
    assert parse_memory_size("16000MiB") == 16000 * 2**20
    for bad in ("lots", "-3GB", "24TB", True):
        with pytest.raises(ValueError):
            parse_memory_size(bad)


@pytest.mark.parametrize(("override", "message"), [
    ("model.gpu_memory=lots", "model.gpu_memory: 'lots' is not a memory size"),
    ("model.gpu_memory_utilization=most", "model.gpu_memory_utilization: 'most'; expected auto or a fraction"),
    ("model.gpu_memory_utilization=1.5", "model.gpu_memory_utilization: must be in (0, 1]"),
])
def test_bad_memory_fields_are_refused_naming_the_field(tiny_dir, tmp_path, override, message):
    path = write_recipe(tiny_recipe(tiny_dir, tmp_path), tmp_path / "recipe.yaml")
    with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_recipe(path, [override])


def test_utilization_is_auto_by_default_and_a_fraction_stays_available(tiny_dir, tmp_path):
    path = write_recipe(tiny_recipe(tiny_dir, tmp_path), tmp_path / "recipe.yaml")
    assert load_recipe(path).model.gpu_memory_utilization == "auto"
    assert load_recipe(path, ["model.gpu_memory_utilization=0.7"]).model.gpu_memory_utilization == 0.7


def test_shape_counts_what_peft_trains(tiny_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    recipe = recipe_from_dict(tiny_recipe(tiny_dir, tmp_path))
    shape = read_model_shape(recipe)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    assert shape.parameters == sum(p.numel() for p in model.parameters())
    for targets in ("all-linear", ["q_proj", "v_proj"], ["gate_proj", "up_proj", "down_proj"]):
        peft = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir),
                              LoraConfig(r=4, target_modules=targets, task_type="CAUSAL_LM"))
        assert shape.lora_parameters(4, targets) == peft.get_nb_trainable_parameters()[0], targets


def test_plan_rows_follow_the_settings():
    shape = ModelShape.from_config(tiny_llama_config())
    base = recipe_from_dict({"grpo": {"num_generations": 8, "per_device_train_batch_size": 8,
                                      "max_completion_length": 256, "optim": "adamw_torch"},
                             "rewards": {"funcs": ["xmlcount"]}})
    rows = lambda recipe, **kw: {row.name: row.bytes for row in plan_memory(recipe, shape, **kw).rows}  # noqa: E731
    trl = rows(base, backend="trl")
    assert trl["logits"] == 8 * 256 * 1000 * 4  # every sequence's logits at once on the trl backend
    assert rows(base, backend="unsloth")["logits"] == 256 * 1000 * 4  # one sequence at a time
    four_bit = recipe_from_dict({**base.to_dict(), "model": {**base.to_dict()["model"], "load_in_4bit": True}})
    assert rows(four_bit, backend="trl")["weights"] < trl["weights"]
    eight_bit = recipe_from_dict({**base.to_dict(), "grpo": {**base.grpo, "optim": "adamw_8bit"}})
    assert rows(eight_bit, backend="trl")["LoRA + optimizer"] < trl["LoRA + optimizer"]
    half = recipe_from_dict({**base.to_dict(), "grpo": {**base.grpo, "num_generations": 4,
                                                        "per_device_train_batch_size": 4}})
    assert rows(half, backend="trl")["activations"] == pytest.approx(trl["activations"] / 2)
    assert rows(half, backend="trl")["generation"] == pytest.approx(trl["generation"] / 2)


def test_a_shorter_context_is_suggested_only_where_the_prompt_budget_still_fits():
    shape = ModelShape.from_config(tiny_llama_config())
    recipe = recipe_from_dict({"model": {"max_seq_length": 512},
                               "grpo": {"num_generations": 8, "per_device_train_batch_size": 8, "max_prompt_length": 256,
                                        "optim": "adamw_torch"}, "rewards": {"funcs": ["xmlcount"]}})
    need = plan_memory(recipe, shape, budget=100 * GIB, backend="trl").total
    plan = plan_memory(recipe, shape, budget=need * 0.999, backend="trl")
    labels = [suggestion.split(" (")[0] for suggestion in plan.suggestions]
    assert not plan.fits and "model.max_seq_length=384" in labels, labels
    assert "model.max_seq_length=256" not in labels  # its 256 prompt tokens would fill it: the check refuses that


def test_vllm_share_auto_is_what_the_generation_batch_needs():
    shape = ModelShape.from_config(tiny_llama_config())
    raw = {"model": {"fast_inference": True, "gpu_memory_utilization": "auto"},
           "grpo": {"use_vllm": True, "num_generations": 4, "per_device_train_batch_size": 4,
                    "max_completion_length": 128}, "rewards": {"funcs": ["xmlcount"]}}
    card = 24 * GIB
    auto = plan_memory(recipe_from_dict(raw), shape, budget=card, backend="unsloth")
    assert auto.fits and auto.vllm_share == pytest.approx(auto.vllm_need / card, abs=0.01)
    assert auto.vllm_share >= auto.vllm_need / card
    raw["model"]["gpu_memory_utilization"] = 0.99  # the card's all: training's part no longer fits beside it
    fixed = plan_memory(recipe_from_dict(raw), shape, budget=card, backend="unsloth")
    assert not fixed.fits and fixed.vllm_share == 0.99
    assert any(s.startswith("model.gpu_memory_utilization=auto") for s in fixed.suggestions)


def shape_of(name: str) -> ModelShape:
    """A real model's shape from the at-size benchmarks' configs, built on the meta device (no memory)."""
    import transformers
    from gpu_grpo import SHAPES

    class_name, kwargs, _ = SHAPES[name]
    return ModelShape.from_config(getattr(transformers, class_name)(**kwargs), name=name)


@pytest.mark.parametrize("name, sequences, reported_gib", [
    ("llama-1b", 8, 0.21), ("phi4-llama", 8, 0.64), ("gemma3-4b", 256, 1.43), ("qwen3-8b", 256, 1.71),
    ("phi4-llama", 256, 1.93)])
def test_vllm_cuda_graphs_are_what_vllm_reported_capturing(name, sequences, reported_gib):
    assert vllm_graphs(sequences, shape_of(name)) / GIB == pytest.approx(reported_gib, rel=0.1)


def test_vllm_runs_the_sequences_unsloth_chooses_for_its_share():
    phi4 = shape_of("phi4-llama")
    weights = 9.06 * GIB
    assert vllm_sequences(10.99 * GIB, weights, phi4) == 8  # the Phi-4 app held to 24 GB: Unsloth chose 8
    assert vllm_sequences(0.7 * 139.8 * GIB, weights, phi4) == 256  # the recipe's 0.7 of an H200: 256
    small = plan_memory(load_recipe(APPS / "phi4_gsm8k" / "recipe.yaml", ["model.gpu_memory=24GB"],
                                    check_files=False), phi4, budget=24 * GIB, card=80 * GIB)
    large = plan_memory(load_recipe(APPS / "phi4_gsm8k" / "recipe.yaml", ["model.gpu_memory_utilization=0.7"],
                                    check_files=False), phi4, budget=139.8 * GIB, card=139.8 * GIB)
    small_cuda, large_cuda = (next(row.bytes for row in plan.rows if row.name == "CUDA") for plan in (small, large))
    assert small_cuda < large_cuda - 1 * GIB  # 8 sequences' graphs, not 256's
    assert "8 sequences at once" in str(small.rows) and "256 sequences at once" in str(large.rows)


def test_train_refuses_a_recipe_over_the_stated_card_before_loading(tiny_dir, tmp_path, monkeypatch, capsys):
    import grpo_training.model.backends as backends

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded for a recipe that cannot fit")

    monkeypatch.setattr(backends, "load_model_trl", refuse)
    monkeypatch.setattr(backends, "load_model_unsloth", refuse)
    recipe = big_recipe(tiny_dir, tmp_path)
    shape = read_model_shape(recipe_from_dict(recipe))
    need = plan_memory(recipe_from_dict(recipe), shape, backend="trl").total
    half = plan_memory(recipe_from_dict(big_recipe(tiny_dir, tmp_path, num_generations=4,
                                                   per_device_train_batch_size=4)), shape, backend="trl").total
    budget = f"{(need + half) / 2 / 2**20:.0f}MiB"  # between: 4 generations fit, 8 do not
    path = write_recipe(recipe, tmp_path / "recipe.yaml")
    status = cli.main(["train", str(path), "--backend", "trl", "--set", f"model.gpu_memory={budget}"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1, errors
    err = errors[0]
    assert err.startswith("error: model.gpu_memory: the recipe needs"), err
    assert f"{need / GIB:.1f} GiB" in err and f"model.gpu_memory {budget}" in err
    assert "fits with: grpo.num_generations=4 grpo.per_device_train_batch_size=4" in err
    assert not (tmp_path / "tiny" / "lora").exists()


def test_plan_command_prints_the_table_and_the_verdict(tiny_dir, tmp_path, capsys):
    path = write_recipe(big_recipe(tiny_dir, tmp_path), tmp_path / "recipe.yaml")
    assert cli.main(["plan", str(path), "--gpu-memory", "24GB", "--backend", "trl"]) == 0
    out = capsys.readouterr().out
    assert "Memory plan for" in out and "logits" in out and "fits 24.0 GiB" in out
    assert out.rstrip().endswith("fits: model.gpu_memory 24GB, trl backend")
    assert cli.main(["plan", str(path), "--gpu-memory", "1GB", "--backend", "trl"]) == 1
    out = capsys.readouterr().out
    assert "does NOT fit 1.0 GiB" in out and out.rstrip().endswith("does not fit: model.gpu_memory 1GB, trl backend")


def test_plan_command_needs_a_size_where_there_is_no_gpu(tiny_dir, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: its memory is the budget")
    path = write_recipe(tiny_recipe(tiny_dir, tmp_path), tmp_path / "recipe.yaml")
    assert cli.main(["plan", str(path)]) == 2
    assert "error: model.gpu_memory: no GPU here; give the card's memory" in capsys.readouterr().err
