"""Where the packaged recipes are, and a recipe's `run.backend` read without importing trl.

The backend must be chosen before trl is imported (Unsloth patches trl on import), and the
recipe module imports trl: so entry points peek at the YAML here first, then load it for real.

Example:
    >>> DEMO_RECIPE.name
    'demo_cpu.yaml'
    >>> peek_backend(DEMO_RECIPE, ["run.backend=trl"])
    'trl'
"""

from __future__ import annotations

from pathlib import Path

RECIPES_DIR = Path(__file__).parent / "recipes"
DEMO_RECIPE = RECIPES_DIR / "demo_cpu.yaml"


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
    from grpo_training.recipe_errors import RecipeError
    from grpo_training.recipe_yaml import load_yaml, read_recipe_text

    try:
        raw = load_yaml(read_recipe_text(recipe_path), str(recipe_path)) or {}
        return str((raw.get("run") or {}).get("backend", "auto"))
    except (RecipeError, AttributeError):
        return "auto"
