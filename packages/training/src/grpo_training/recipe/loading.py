"""Read a recipe: YAML file -> `--set` overrides -> section dataclasses -> checks (no model is loaded);
where the packaged recipes are; a recipe's `run.backend` read without importing trl.

The backend must be chosen before trl is imported (Unsloth patches trl on import): only the `grpo`
section's check imports trl (`grpo_training.recipe.grpo`), when a recipe is built, so entry points can
`peek_backend` first and load the recipe after the backend is chosen.

Example:
    >>> recipe = load_recipe(DEMO_RECIPE, ["grpo.max_steps=2"])
    >>> recipe.grpo["max_steps"]
    2
    >>> DEMO_RECIPE.name, peek_backend(DEMO_RECIPE, ["run.backend=trl"])
    ('demo_cpu.yaml', 'trl')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grpo_data.atomic_files import write_atomically
from grpo_training.recipe.checks import validate_recipe
from grpo_training.recipe.coercion import coerce_value, field_types
from grpo_training.recipe.overrides import apply_overrides
from grpo_training.recipe.secrets import check_no_secrets, redact_secrets
from grpo_training.recipe.sections import (
    SECTIONS,
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
from grpo_training.recipe.yaml_safety import load_yaml, read_recipe_text

RECIPES_DIR = Path(__file__).parent / "recipes"
DEMO_RECIPE = RECIPES_DIR / "demo_cpu.yaml"


def recipe_from_dict(raw: dict[str, Any], *, source_path: str | None = None, check_files: bool = True) -> Recipe:
    """Build and validate a `Recipe` from a dict in the YAML schema.

    Example:
        >>> recipe_from_dict({"grpo": {"max_stepz": 3}})
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: grpo.max_stepz: unknown field, not in TRL 1.14.2's GRPOConfig nor ours; similar fields: max_steps, save_steps, eval_steps
    """
    from grpo_training.recipe.grpo import build_grpo_section  # imports trl: only once a recipe is built

    check_no_secrets(raw)  # first: a type error below would repeat the value
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe: expected a mapping with sections {', '.join(SECTIONS)}, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise RecipeError(f"{unknown[0]}: unknown section; sections are {', '.join(SECTIONS)}")
    recipe = Recipe(
        model=build_section(ModelConfig, raw.get("model"), "model"),
        lora=build_section(LoraConfig, raw.get("lora"), "lora"),
        grpo=build_grpo_section(raw.get("grpo")),
        rewards=build_rewards(raw.get("rewards")),
        data=build_section(DataConfig, raw.get("data"), "data"),
        evaluation=build_section(EvaluationConfig, raw.get("evaluation"), "evaluation"),
        run=build_section(RunConfig, raw.get("run"), "run"),
        source_path=source_path,
    )
    validate_recipe(recipe, check_files=check_files, base_dir=Path(source_path).parent if source_path else None)
    return recipe


def load_recipe(path: str | Path, overrides: list[str] | None = None, *, check_files: bool = True) -> Recipe:
    """Read a YAML recipe, apply `section.field=value` overrides, validate it (no model is loaded).

    Args:
        path: the YAML file.
        overrides: e.g. `["grpo.learning_rate=1e-5", "data.source=/data/gsm8k"]`.
        check_files: check that a local data source (and a local model folder) exists.

    Raises:
        RecipeError: naming the field that is wrong and what is expected.

    Example:
        >>> load_recipe(DEMO_RECIPE, ["data.loader=mnist"])
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: data.loader: 'mnist' is not a loader; expected one of gsm8k, dapo
    """
    path = Path(path)
    raw = load_yaml(read_recipe_text(path), f"recipe file {path}") or {}
    raw = apply_overrides(raw, overrides)
    return recipe_from_dict(raw, source_path=str(path), check_files=check_files)


def build_section(cls: type, values: Any, section: str) -> Any:
    """One section's dataclass from its mapping, each value coerced to its field's type."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise RecipeError(f"{section}: expected a mapping of fields, got {type(values).__name__} {values!r}")
    types_ = field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise RecipeError(
            f"{section}.{unknown[0]}: unknown field; {section} fields are: {', '.join(sorted(types_))}"
        )
    return cls(**{name: coerce_value(value, types_[name], f"{section}.{name}") for name, value in values.items()})


def build_rewards(values: Any) -> RewardsConfig:
    """Accepts a list of names / {name, weight, params}, or {funcs|names: [...], weights, params}."""
    shared: dict[str, Any] = {}
    weights = None
    if values is None:
        return RewardsConfig()
    if isinstance(values, dict):
        unknown = sorted(set(values) - {"funcs", "names", "weights", "params"})
        if unknown:
            raise RecipeError(f"rewards.{unknown[0]}: unknown field; use funcs (or names), weights, params")
        shared = coerce_value(values.get("params") or {}, dict, "rewards.params")
        weights = values.get("weights")
        items = values.get("funcs", values.get("names", []))
    else:
        items = values
    if not isinstance(items, list):
        raise RecipeError(f"rewards: expected a list of reward names or {{name, weight, params}}, got {items!r}")
    specs = []
    for index, item in enumerate(items):
        where = f"rewards[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise RecipeError(f"{where}: expected a reward name or {{name, weight, params}}, got {item!r}")
        specs.append(build_section(RewardSpec, item, where) if "name" in item else None)
        if specs[-1] is None:
            raise RecipeError(f"{where}.name: missing; every reward needs a name")
    if weights is not None:
        weights = coerce_value(weights, list[float], "rewards.weights")
        if len(weights) != len(specs):
            raise RecipeError(f"rewards.weights: {len(weights)} weights for {len(specs)} rewards")
        for spec, weight in zip(specs, weights):
            spec.weight = weight
    return RewardsConfig(funcs=specs, params=shared)


def dump_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write the recipe as YAML (atomically, secrets redacted: `grpo_training.recipe.secrets`) and return the path."""
    path = Path(path)
    return write_atomically(path, yaml.safe_dump(redact_secrets(recipe.to_dict()), sort_keys=False, allow_unicode=True))


def peek_backend(recipe_path: str | Path, overrides: list[str]) -> str:
    """`run.backend` of a recipe file (the last `run.backend=` override wins), "auto" when unset.

    An unreadable file also gives "auto": loading the recipe afterwards reports the real problem.

    Example:
        >>> peek_backend(DEMO_RECIPE, [])
        'auto'
    """
    for override in reversed(overrides):
        if override.startswith("run.backend="):
            return override.split("=", 1)[1].strip()
    try:
        raw = load_yaml(read_recipe_text(recipe_path), str(recipe_path)) or {}
        return str((raw.get("run") or {}).get("backend", "auto"))
    except (RecipeError, AttributeError):
        return "auto"
