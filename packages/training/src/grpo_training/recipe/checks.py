"""Cross-field checks of a built recipe that need no model: names that must exist, choices, ranges
(`grpo_training.recipe.ranges`), token budgets (`grpo_training.recipe.lengths`), files that must be there.
Nothing here imports trl.

Example:
    >>> from grpo_training.recipe.sections import Recipe, RewardSpec, RewardsConfig
    >>> validate_recipe(Recipe(rewards=RewardsConfig([RewardSpec("xmlcount")])))
    >>> validate_recipe(Recipe(rewards=RewardsConfig([RewardSpec("xmlcount", params={"scale": 2})])))
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: rewards[0].params.scale: reward 'xmlcount' takes no such parameter; it takes: prefix, log_every
"""

from __future__ import annotations

from pathlib import Path

from grpo_training.recipe.lengths import GRPOLengths
from grpo_training.recipe.ranges import check_ranges
from grpo_training.recipe.secrets import check_no_secrets
from grpo_training.recipe.sections import BACKENDS, LOADERS, SWANLAB_MODES, DataConfig, Recipe, RecipeError


def validate_recipe(recipe: Recipe, *, check_files: bool = True, base_dir: Path | None = None) -> None:
    """Cross-field checks that need no model: names that must exist, values in range
    (`grpo_training.recipe.ranges`), token budgets that fit the context (`grpo_training.recipe.lengths`),
    files present, no secrets (`grpo_training.recipe.secrets`)."""
    check_no_secrets(recipe.to_dict())
    if check_files:
        check_model_path(recipe.model.name)
    _check_data(recipe.data, check_files, base_dir)
    _check_rewards(recipe, check_files, base_dir)
    _check_choices(recipe)
    check_ranges(recipe)  # every ranged value, e.g. learning rate > 0, max_steps >= 1 or -1
    GRPOLengths.from_recipe(recipe).warn_if_over_context()  # its own checks: budgets >= 1 and within the context
    if recipe.data.system_prompt is not None:
        resolve_system_prompt_text(recipe.data.system_prompt)


def check_model_path(name: str | None) -> None:
    """Refuse a `model.name` meant as a local folder (it starts with `.`, `/` or `~`) that does not exist: it is
    no Hub id either, and would fail only once the run has a folder and its data.

    Example:
        >>> check_model_path("org/model"), check_model_path(None)
        (None, None)
        >>> check_model_path("../no-such-model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: model.name: '../no-such-model' does not exist (looked at ...); give a Hub id ('owner/name') or an existing model folder
    """
    from grpo_data.sources import looks_like_local_path

    if name and looks_like_local_path(name) and not Path(name).expanduser().exists():
        raise RecipeError(f"model.name: {name!r} does not exist (looked at {Path(name).expanduser().absolute()}); "
                          "give a Hub id ('owner/name') or an existing model folder")


def _check_data(data: DataConfig, check_files: bool, base_dir: Path | None) -> None:
    from grpo_data.sources import looks_like_local_path

    if data.loader not in LOADERS:
        raise RecipeError(f"data.loader: {data.loader!r} is not a loader; expected one of {', '.join(LOADERS)}")
    if data.source != "synthetic" and check_files and looks_like_local_path(data.source):
        resolved = resolve_data_source(data.source, base_dir)
        if not resolved.exists():
            raise RecipeError(f"data.source: {data.source!r} does not exist (looked at {resolved}); give a Hub id, "
                              "an existing .jsonl/.json/.parquet file or folder, or 'synthetic'")
    if data.one_shot and data.loader != "gsm8k":
        raise RecipeError(f"data.one_shot: tutorial 1's one-shot example is for the gsm8k loader, not {data.loader!r}; "
                          "set data.one_shot=false")


def _check_rewards(recipe: Recipe, check_files: bool, base_dir: Path | None) -> None:
    from grpo_rewards import REWARDS, reward_params

    if not recipe.rewards.funcs:
        raise RecipeError("rewards: no reward functions; list at least one of " + ", ".join(sorted(REWARDS)))
    for index, spec in enumerate(recipe.rewards.funcs):
        if ":" in spec.name:  # an import path: grpo_training.recipe.custom_rewards checks it below
            continue
        if spec.name not in REWARDS:
            raise RecipeError(f"rewards[{index}].name: unknown reward {spec.name!r}; known: {', '.join(sorted(REWARDS))}")
        accepted = reward_params(spec.name)
        for param in spec.params:
            if param not in accepted:
                raise RecipeError(f"rewards[{index}].params.{param}: reward {spec.name!r} takes no such parameter; "
                                  f"it takes: {', '.join(accepted)}")
    if check_files and any(":" in spec.name for spec in recipe.rewards.funcs):
        from grpo_training.recipe.custom_rewards import check_imported_rewards

        check_imported_rewards(recipe, base_dir)


def check_run_name(name: str | None) -> None:
    """Refuse a `run.name` that is not one folder name: the run folder must stay inside `run.output_dir`.

    Example:
        >>> check_run_name("../x")
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: run.name: '../x' is not a folder name, and the run folder must stay inside run.output_dir; give a plain folder name (no path separator, not '..'), and set run.output_dir for the parent folder
    """
    if not name:
        return  # unset: the run is named after the recipe and the time
    if name in (".", "..") or any(separator in name for separator in ("/", "\\", "\0")):
        raise RecipeError(f"run.name: {name!r} is not a folder name, and the run folder must stay inside run.output_dir; "
                          "give a plain folder name (no path separator, not '..'), and set run.output_dir for the parent folder")


def _check_choices(recipe: Recipe) -> None:
    check_run_name(recipe.run.name)
    if recipe.run.backend not in BACKENDS:
        raise RecipeError(f"run.backend: {recipe.run.backend!r}; expected one of {', '.join(BACKENDS)}")
    if recipe.run.swanlab_mode not in SWANLAB_MODES:
        raise RecipeError(f"run.swanlab_mode: {recipe.run.swanlab_mode!r}; expected one of {', '.join(SWANLAB_MODES)}")
    if recipe.evaluation.task not in ("xml", "think"):
        raise RecipeError(f"evaluation.task: {recipe.evaluation.task!r}; expected xml or think")
    if recipe.evaluation.engine not in ("auto", "vllm", "hf"):
        raise RecipeError(f"evaluation.engine: {recipe.evaluation.engine!r}; expected auto, vllm or hf")
    if recipe.model.dtype not in (None, "auto", "float32", "bfloat16", "float16"):
        raise RecipeError(f"model.dtype: {recipe.model.dtype!r}; expected float32, bfloat16, float16 or auto")
    if isinstance(recipe.model.gpu_memory_utilization, str) and recipe.model.gpu_memory_utilization != "auto":
        raise RecipeError(f"model.gpu_memory_utilization: {recipe.model.gpu_memory_utilization!r}; expected auto or "
                          "a fraction in (0, 1]")
    if recipe.model.gpu_memory is not None:
        from grpo_training.memory_sizes import parse_memory_size

        try:
            parse_memory_size(recipe.model.gpu_memory)
        except ValueError as error:
            raise RecipeError(f"model.gpu_memory: {error}") from None
    if recipe.lora.gradient_checkpointing not in (True, False, "unsloth"):
        raise RecipeError(f"lora.gradient_checkpointing: {recipe.lora.gradient_checkpointing!r}; expected "
                          "true, false or 'unsloth'")


def resolve_data_source(source: str, base_dir: Path | None = None) -> Path:
    """A local data source as a path (relative paths: from the working directory, else the recipe's folder)."""
    path = Path(source).expanduser()
    if not path.is_absolute() and not path.exists() and base_dir is not None and (base_dir / path).exists():
        return base_dir / path
    return path


def resolve_system_prompt_text(value: str) -> str:
    """A `grpo_data.SYSTEM_PROMPTS` name -> its text; any other string is the literal prompt.

    (Not `grpo_data.resolve_system_prompt`, which refuses a name it does not know: a recipe may give
    the prompt's text itself.)

    Example:
        >>> resolve_system_prompt_text("Answer briefly.")
        'Answer briefly.'
    """
    from grpo_data import SYSTEM_PROMPTS

    return SYSTEM_PROMPTS.get(value, value)
