"""The recipe: one YAML file with the sections `model`, `lora`, `grpo`, `rewards`, `data`, `evaluation` and `run`.

The `grpo` section holds fields of TRL's `GRPOConfig` (extended by `GRPOSettings` with the few fields the
tutorials set that TRL 1.14.2 does not have); every other section is one of the small dataclasses of
`sections`. `load_recipe` reads the file, applies `--set section.field=value` overrides, and checks every
field name, type, range, reward name, system prompt and data path, so a bad recipe fails before any model
is loaded, naming the field.

The modules, in the order a recipe passes through them:

- `sections`: the section dataclasses, `Recipe` and `RecipeError`;
- `yaml_safety`: the recipe file read with bounds; `overrides`: `--set section.field=value`;
- `coercion`: a YAML / `--set` value as its field's type; `secrets`: no tokens in a recipe;
- `grpo`: `GRPOSettings` and the `grpo` section's field checks (the only module importing trl at its top);
- `checks`: names, choices, files; `ranges`: value ranges; `lengths`: `GRPOLengths`, the prompt and
  completion budgets (checked, and derived where the recipe leaves them to the data);
- `loading`: `load_recipe`, `recipe_from_dict`, `dump_recipe`, `DEMO_RECIPE`, `peek_backend`;
- `grpo_args`: the `GRPOConfig` arguments of a run (imports trl).

Importing this package does not import trl: the backend is chosen first (Unsloth must be imported before
trl); `GRPOSettings` is in `grpo_training.recipe.grpo`.

Example:
    >>> recipe = load_recipe(DEMO_RECIPE, ["grpo.max_steps=2"])
    >>> recipe.grpo["max_steps"]
    2
"""

from __future__ import annotations

from grpo_training.recipe.checks import resolve_data_source, resolve_system_prompt_text, validate_recipe
from grpo_training.recipe.coercion import coerce_value
from grpo_training.recipe.loading import (
    DEMO_RECIPE,
    RECIPES_DIR,
    dump_recipe,
    load_recipe,
    peek_backend,
    recipe_from_dict,
)
from grpo_training.recipe.overrides import apply_overrides, parse_override
from grpo_training.recipe.sections import (
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
    RecipeError,
    RewardsConfig,
    RewardSpec,
    RunConfig,
)

__all__ = [
    "BACKENDS", "DEMO_RECIPE", "LOADERS", "RECIPES_DIR", "SECTIONS", "SECTION_TYPES", "SWANLAB_MODES", "DataConfig",
    "EvaluationConfig", "LoraConfig", "ModelConfig", "Recipe", "RecipeError", "RewardSpec", "RewardsConfig",
    "RunConfig", "apply_overrides", "coerce_value", "dump_recipe", "load_recipe", "peek_backend", "parse_override",
    "recipe_from_dict", "resolve_data_source", "resolve_system_prompt_text", "validate_recipe",
]
