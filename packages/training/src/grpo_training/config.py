"""Recipe configuration: the public names of the recipe modules, importable from one place.

A recipe is one YAML file with the sections `model`, `lora`, `grpo`, `rewards`, `data`, `evaluation`
and `run`. The `grpo` section holds fields of TRL's `GRPOConfig` (extended by `GRPOSettings` with
the few fields the tutorials set that TRL 1.14.2 does not have); every other section is one of the
small dataclasses of `recipe_sections`. `load_recipe` reads the file, applies `--set section.field=value`
overrides, and checks every field name, type, reward name, system prompt and data path, so a bad recipe
fails before any model is loaded, naming the field.

One job per module (this one only re-exports; it imports trl through `recipe_grpo`):

- `grpo_training.recipe_errors`: `RecipeError`;
- `grpo_training.recipe_sections`: the section dataclasses and `Recipe` (no trl);
- `grpo_training.recipe_coercion`: a YAML / `--set` value as its field's type (no trl);
- `grpo_training.recipe_grpo`: `GRPOSettings` and the `grpo` section's checks (imports trl);
- `grpo_training.recipe_overrides`: `--set section.field=value` (no trl);
- `grpo_training.recipe_validation`: cross-field checks, data source and system prompt (no trl);
- `grpo_training.recipe_ranges`: value ranges; `grpo_training.recipe_files`: where the recipes are;
- `grpo_training.recipe_loading`: `load_recipe`, `recipe_from_dict`, `dump_recipe`.

Example:
    >>> recipe = load_recipe(DEMO_RECIPE, ["grpo.max_steps=2"])
    >>> recipe.grpo["max_steps"]
    2
"""

from __future__ import annotations

from grpo_data.sources import looks_like_local_path as looks_like_path
from grpo_training.recipe_coercion import coerce_value
from grpo_training.recipe_errors import RecipeError
from grpo_training.recipe_files import DEMO_RECIPE, RECIPES_DIR
from grpo_training.recipe_grpo import OWNED_ELSEWHERE, GRPOSettings, grpo_field_types
from grpo_training.recipe_loading import dump_recipe, load_recipe, recipe_from_dict
from grpo_training.recipe_overrides import apply_overrides, parse_override
from grpo_training.recipe_sections import (
    BACKENDS,
    LOADERS,
    SECTION_TYPES,
    SECTIONS,
    SWANLAB_MODES,
    DataConfig,
    EvaluationConfig,
    LoraConfig,
    ModelConfig,
    Recipe,
    RewardsConfig,
    RewardSpec,
    RunConfig,
)
from grpo_training.recipe_validation import resolve_data_source, resolve_system_prompt_text, validate_recipe

__all__ = [
    "BACKENDS", "DEMO_RECIPE", "LOADERS", "OWNED_ELSEWHERE", "RECIPES_DIR", "SECTIONS", "SECTION_TYPES",
    "SWANLAB_MODES", "DataConfig", "EvaluationConfig", "GRPOSettings", "LoraConfig", "ModelConfig", "Recipe",
    "RecipeError", "RewardSpec", "RewardsConfig", "RunConfig", "apply_overrides", "coerce_value", "dump_recipe",
    "grpo_field_types", "load_recipe", "looks_like_path", "parse_override", "recipe_from_dict",
    "resolve_data_source", "resolve_system_prompt_text", "validate_recipe",
]
