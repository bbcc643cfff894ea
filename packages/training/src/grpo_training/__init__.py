"""grpo_training: GRPO fine-tuning from YAML recipes, over Unsloth + TRL (GPU) or TRL + PEFT (CPU).

Public names are imported lazily, so `import grpo_training` does not import trl: on a GPU, Unsloth
must be imported before trl (`select_backend(..., import_early=True)` does it).

Example:
    >>> from grpo_training import load_recipe, DEMO_RECIPE
    >>> load_recipe(DEMO_RECIPE).data.prefill
    '<reasoning>\\n'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_recipe": "grpo_training.recipe",
    "recipe_from_dict": "grpo_training.recipe",
    "Recipe": "grpo_training.recipe",
    "RecipeError": "grpo_training.recipe",
    "GRPOSettings": "grpo_training.recipe.grpo",
    "DEMO_RECIPE": "grpo_training.recipe",
    "select_backend": "grpo_training.model.backends",
    "save_lora": "grpo_training.model.backends",
    "prepare_data": "grpo_training.prepare",
    "build_reward_funcs": "grpo_training.prepare",
    "with_prefill": "grpo_training.prepare",
    "load_model": "grpo_training.run.steps",
    "build_trainer": "grpo_training.run.steps",
    "resume_checkpoint": "grpo_training.run.steps",
    "run_grpo": "grpo_training.run.grpo",
    "verify_lora_trained": "grpo_training.run.lora",
    "RunResult": "grpo_training.run.grpo",
    "LoraNotTrainedError": "grpo_training.run.lora",
    "find_resumable_checkpoint": "grpo_training.run.trainer_checkpoints",
    "embedded_model_path": "grpo_training.embedded",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'grpo_training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
