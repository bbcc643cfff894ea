"""Every app recipe parses, names only existing rewards and fields, and states what the issue requires."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpo_rewards import REWARDS
from grpo_training.recipe import load_recipe

APPS = Path(__file__).resolve().parents[2] / "apps"
ALL_RECIPES = sorted(APPS.glob("*/recipe*.yaml"))
TUTORIAL_RECIPES = [path for path in ALL_RECIPES if path.name != "recipe_demo.yaml"]


def test_every_app_has_a_recipe_and_a_script() -> None:
    apps = sorted(path.name for path in APPS.iterdir() if path.is_dir())
    assert apps == ["gemma3_gsm8k", "phi4_gsm8k", "r1_qwen3_dapo_id"]
    for app in apps:
        assert (APPS / app / "recipe.yaml").is_file() and (APPS / app / "train.py").is_file()
        assert len((APPS / app / "train.py").read_text().splitlines()) <= 150


@pytest.mark.parametrize("app", ["gemma3_gsm8k", "phi4_gsm8k", "r1_qwen3_dapo_id"])
def test_every_app_runs_the_tutorials_steps_in_its_order(app: str) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"app_{app}", APPS / app / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tutorial = module.TUTORIAL
    # load the model -> LoRA -> data -> rewards -> GRPO -> save the LoRA -> with/without LoRA -> merged, GGUF, Hub
    assert [step.values for step in tutorial.training] == ["model", "lora", "data", "rewards", "grpo", "run",
                                                           "evaluation"]
    assert [step.values for step in tutorial.exporting] == ["model", "--gguf", "--push-to-hub"]
    assert tutorial.app_dir == APPS / app


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_parses_with_known_rewards_and_fields(path: Path) -> None:
    recipe = load_recipe(path, check_files=False)  # unknown fields or reward names raise RecipeError
    assert recipe.rewards.names and set(recipe.rewards.names) <= set(REWARDS)
    assert "beta" in recipe.grpo and "loss_type" in recipe.grpo, "every recipe states beta and loss_type"


@pytest.mark.parametrize("path", TUTORIAL_RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_tutorial_recipes_carry_the_model_loading_values(path: Path) -> None:
    recipe = load_recipe(path, check_files=False)
    assert recipe.model.load_in_4bit and recipe.model.fast_inference and recipe.grpo["use_vllm"]
    assert recipe.model.max_lora_rank == recipe.lora.r
    assert recipe.model.gpu_memory_utilization == "auto"  # vLLM's share from the memory plan
    assert recipe.grpo["logging_steps"] == 1 and recipe.grpo["gradient_accumulation_steps"] == 1
    assert recipe.grpo["per_device_train_batch_size"] == recipe.grpo["num_generations"]
    assert recipe.lora.gradient_checkpointing == "unsloth" and recipe.lora.random_state == 3407


def test_phi4_recipe_is_the_tutorials() -> None:
    recipe = load_recipe(APPS / "phi4_gsm8k" / "recipe.yaml", check_files=False)
    assert recipe.model.name == "unsloth/Phi-4" and recipe.model.max_seq_length == 512
    assert (recipe.lora.r, recipe.lora.alpha, recipe.lora.target_modules) == (16, 16, ["gate_proj", "up_proj", "down_proj"])
    expected = {"learning_rate": 5e-6, "adam_beta1": 0.9, "adam_beta2": 0.99, "weight_decay": 0.1, "warmup_ratio": 0.1,
                "lr_scheduler_type": "cosine", "optim": "paged_adamw_8bit", "num_generations": 6,
                "max_prompt_length": 256, "max_completion_length": 200, "max_steps": 100, "save_steps": 250,
                "max_grad_norm": 0.1}
    assert {key: recipe.grpo[key] for key in expected} == expected
    assert recipe.run.report_to == "swanlab" and recipe.data.config == "main"


def test_r1_recipe_is_the_tutorials() -> None:
    recipe = load_recipe(APPS / "r1_qwen3_dapo_id" / "recipe.yaml", check_files=False)
    assert recipe.model.name == "unsloth/DeepSeek-R1-0528-Qwen3-8B" and recipe.model.max_seq_length == 1024
    assert (recipe.lora.r, recipe.lora.alpha) == (32, 64) and len(recipe.lora.target_modules) == 7
    grpo = recipe.grpo
    assert (grpo["min_p"], grpo["top_p"], grpo["top_k"], grpo["temperature"]) == (0.1, 1.0, 0, 1.0)
    assert grpo["vllm_sampling_kwargs"] == {"seed": 3407, "stop": ["{eos_token}"], "include_stop_str_in_output": True}
    assert (grpo["learning_rate"], grpo["weight_decay"], grpo["lr_scheduler_type"], grpo["optim"]) == (5e-6, 0.01, "linear", "adamw_8bit")
    assert (grpo["num_generations"], grpo["max_steps"], grpo["save_steps"]) == (4, 100, 100)
    assert recipe.data.loader == "dapo" and recipe.data.prompt_length_quantile == 0.9
    assert recipe.rewards.names[-1] == "language" and recipe.rewards.funcs[-1].params == {"target": "id"}
    assert recipe.evaluation.target_language == "id" and recipe.data.eval_rows == 20


def test_r1_recipe_evaluates_with_tutorial_twos_sampling() -> None:
    """The 20-sample with/without-LoRA language comparison: SamplingParams(temperature=1.0, top_k=50,
    max_tokens=2048), top_p left at vLLM's 1.0 (not the 0.95 default that tutorial 1 uses)."""
    from grpo_training.evaluation import R1_DAPO_SAMPLING
    from grpo_training.evaluation.engines import vllm_sampling_kwargs
    from grpo_training.evaluation.sampling import SamplingSettings

    settings = load_recipe(APPS / "r1_qwen3_dapo_id" / "recipe.yaml", check_files=False).evaluation
    sampling = SamplingSettings(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or None,
                                max_new_tokens=settings.max_new_tokens)
    assert vllm_sampling_kwargs(sampling) == vllm_sampling_kwargs(R1_DAPO_SAMPLING)
    assert (settings.temperature, settings.top_k, settings.top_p, settings.max_new_tokens) == (1.0, 50, 1.0, 2048)
    assert settings.engine == "auto"  # through the model's vLLM engine when fast_inference loaded one


@pytest.mark.parametrize("app", ["phi4_gsm8k", "gemma3_gsm8k"])
def test_gsm8k_recipes_evaluate_with_tutorial_ones_sampling(app: str) -> None:
    from grpo_training.evaluation import PHI4_GSM8K_SAMPLING

    settings = load_recipe(APPS / app / "recipe.yaml", check_files=False).evaluation
    assert (settings.temperature, settings.top_p, settings.top_k or None, settings.max_new_tokens) == (
        PHI4_GSM8K_SAMPLING.temperature, PHI4_GSM8K_SAMPLING.top_p, PHI4_GSM8K_SAMPLING.top_k,
        PHI4_GSM8K_SAMPLING.max_new_tokens)
