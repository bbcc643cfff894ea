"""The tutorials' arguments mapped onto TRL 1.14.2 / transformers 5, each change logged as a notice."""

from __future__ import annotations

import pytest

from grpo_training.recipe import DEMO_RECIPE, RecipeError, load_recipe
from grpo_training.recipe.grpo_args import build_grpo_settings, plan_grpo_args
from grpo_training.recipe.lengths import GRPOLengths


def plan(overrides, cuda=False, max_prompt_length=100, backend="trl"):
    recipe = load_recipe(DEMO_RECIPE, overrides)
    return plan_grpo_args(recipe, output_dir="/tmp/grpo-args-test",
                          lengths=GRPOLengths.from_recipe(recipe, max_prompt_length), cuda=cuda, backend=backend)


def test_tutorial_one_arguments_map_and_build(tmp_path):
    result = plan(["grpo.per_device_train_batch_size=1", "grpo.num_generations=6", "grpo.warmup_ratio=0.1",
                   "grpo.optim=paged_adamw_8bit", "grpo.use_vllm=true", "grpo.max_completion_length=200"])
    kwargs = result.kwargs
    assert kwargs["per_device_train_batch_size"] == 6
    assert kwargs["warmup_steps"] == 0.1 and "warmup_ratio" not in kwargs
    assert kwargs["optim"] == "adamw_torch"
    assert kwargs["use_vllm"] is False
    assert kwargs["bf16"] is False
    notices = "\n".join(result.notices)
    for expected in ("raised to 6", "warmup_steps=0.1", "paged_adamw_8bit", "vllm", "float32"):
        assert expected in notices
    settings = build_grpo_settings(result)  # TRL's own __post_init__ accepts the mapped values
    assert settings.generation_batch_size % settings.num_generations == 0
    assert settings.max_prompt_length == 100 and settings.beta == 0.0 and settings.loss_type == "dapo"


def test_batch_already_a_multiple_is_left_alone():
    result = plan(["grpo.per_device_train_batch_size=8", "grpo.num_generations=4"])
    assert result.kwargs["per_device_train_batch_size"] == 8
    assert not any("raised" in notice for notice in result.notices)


def test_completion_length_defaults_to_sequence_minus_prompt():
    result = plan(["grpo.max_completion_length=null", "model.max_seq_length=1024"], max_prompt_length=201)
    assert result.kwargs["max_completion_length"] == 1024 - 201


def test_no_room_for_completions_is_an_error():
    with pytest.raises(RecipeError, match="model.max_seq_length"):
        plan(["grpo.max_completion_length=null", "model.max_seq_length=100"], max_prompt_length=100)


def test_warmup_ratio_and_steps_together_are_refused():
    with pytest.raises(RecipeError, match="warmup_ratio"):
        plan(["grpo.warmup_ratio=0.1", "grpo.warmup_steps=5"])
    recipe = load_recipe(DEMO_RECIPE, ["grpo.warmup_ratio=0.1"])
    recipe.grpo["warmup_steps"] = 5  # set after the checks, as a program using the library could
    with pytest.raises(RecipeError, match="^grpo.warmup_ratio and grpo.warmup_steps are both set; keep one"):
        plan_grpo_args(recipe, output_dir="/tmp/grpo-args-test", lengths=GRPOLengths.from_recipe(recipe, 100),
                       cuda=False)


def test_run_section_owns_output_report_and_seed():
    result = plan(["run.report_to=swanlab", "run.swanlab_mode=disabled", "run.seed=7", "run.name=abc"])
    assert result.kwargs["report_to"] == ["none"]
    assert result.kwargs["seed"] == 7 and result.kwargs["run_name"] == "abc"
    assert result.kwargs["output_dir"] == "/tmp/grpo-args-test"


def test_unsloth_backend_keeps_only_trl_fields_and_its_own_checkpointing():
    result = plan(["grpo.vllm_sampling_kwargs={seed: 3407}"], backend="unsloth")
    assert "gradient_checkpointing" not in result.kwargs
    assert "vllm_sampling_kwargs" in result.kwargs and "vllm_sampling_kwargs" not in result.trl_kwargs
    assert "max_prompt_length" not in result.trl_kwargs


def test_gpu_keeps_eight_bit_optimizer_when_bitsandbytes_is_there(monkeypatch):
    import grpo_training.recipe.grpo_args as grpo_args

    monkeypatch.setattr(grpo_args, "module_available", lambda name: name == "bitsandbytes")
    result = plan(["grpo.optim=adamw_8bit"], cuda=True)
    assert result.kwargs["optim"] == "adamw_8bit"
    assert "bf16" not in result.kwargs  # TRL's default (bf16 on) is kept on a GPU


def test_dapo_clip_and_truncation_defaults_are_trls_on_both_backends():
    """Unsloth reads an absent mask_truncated_completions / epsilon_high as unset and, for loss_type dapo,
    switches to the DAPO paper's True / 0.28: TRL's values are passed instead."""
    for backend in ("trl", "unsloth"):
        kwargs = plan([], backend=backend).kwargs
        assert kwargs["loss_type"] == "dapo"
        assert kwargs["mask_truncated_completions"] is False and kwargs["epsilon_high"] == 0.2
    assert plan(["grpo.epsilon=0.3"]).kwargs["epsilon_high"] == 0.3
    chosen = plan(["grpo.mask_truncated_completions=true", "grpo.epsilon_high=0.28"]).kwargs
    assert chosen["mask_truncated_completions"] is True and chosen["epsilon_high"] == 0.28
    settings = build_grpo_settings(plan([]))
    assert settings.mask_truncated_completions is False and settings.epsilon_high == settings.epsilon == 0.2
