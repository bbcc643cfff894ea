"""Resuming a run continues the run that was started: its own `recipe.yaml`, changed only where safe.

A run folder records the recipe as run (`<run>/recipe.yaml`, after every `--set`). `--resume RUN_DIR`
(the apps and `python -m grpo_training train`) loads that file, not the app's default recipe, so a
resumed run trains on the settings it started with without repeating the original overrides.

Overrides given on resume are compared with the recorded recipe (`resume_changes`): those in
`SAFE_ON_RESUME` (more steps, logging, saving, evaluation on/off) are allowed and logged as a change;
any other change (learning rate, lengths, data, LoRA, model...) would make the resumed run a different
run and is refused with a `ResumeError` naming the field. `run_grpo` checks again before it writes
the folder's recipe, so a caller passing another recipe cannot rewrite a run's settings either.

Example:
    >>> from grpo_training.recipe import Recipe
    >>> recorded = Recipe(grpo={"max_steps": 40, "learning_rate": 2e-4})
    >>> resume_changes(recorded, Recipe(grpo={"max_steps": 80, "learning_rate": 2e-4}))
    ['grpo.max_steps: 40 -> 80']
    >>> resume_changes(recorded, Recipe(grpo={"max_steps": 40, "learning_rate": 1e-3}))
    Traceback (most recent call last):
    ...
    grpo_training.run.resume.ResumeError: grpo.learning_rate: cannot change on resume (recorded 0.0002, asked 0.001): a resumed run continues with its own recipe; start a new run for other settings (safe to change: evaluation.after, evaluation.batch_size, evaluation.before, grpo.logging_steps, grpo.max_steps (larger only), grpo.num_train_epochs (larger only), grpo.save_steps, grpo.save_total_limit, grpo.vllm_server_host, grpo.vllm_server_port, model.gpu_memory, model.gpu_memory_utilization, run.allow_flat_rewards, run.log_completions_every, run.report_to, run.signal_check_prompts, run.swanlab_mode, run.swanlab_project)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

logger = logging.getLogger(__name__)

RECIPE_FILE = "recipe.yaml"
LARGER_ONLY = "larger only"
ANY_VALUE = ""
# Fields a resumed run may change: they do not alter what was already trained or how training goes on.
SAFE_ON_RESUME: dict[str, str] = {
    "grpo.max_steps": LARGER_ONLY,
    "grpo.num_train_epochs": LARGER_ONLY,
    "grpo.save_steps": ANY_VALUE,
    "grpo.save_total_limit": ANY_VALUE,
    "grpo.logging_steps": ANY_VALUE,
    "run.log_completions_every": ANY_VALUE,
    "run.report_to": ANY_VALUE,
    "run.swanlab_mode": ANY_VALUE,
    "run.swanlab_project": ANY_VALUE,
    "evaluation.before": ANY_VALUE,
    "evaluation.after": ANY_VALUE,
    "evaluation.batch_size": ANY_VALUE,
    # where the run's memory and rollouts live, not what it learns: another card, another vLLM server
    "model.gpu_memory": ANY_VALUE,
    "model.gpu_memory_utilization": ANY_VALUE,
    "grpo.vllm_server_host": ANY_VALUE,
    "grpo.vllm_server_port": ANY_VALUE,
    "run.signal_check_prompts": ANY_VALUE,
    "run.allow_flat_rewards": ANY_VALUE,
}
RUN_FOLDER_FIELDS = ("run.output_dir", "run.name")


class ResumeError(ValueError):
    """A resume that would not continue the recorded run: names the field or the file and what to do."""


def recorded_recipe_path(run_dir: str | Path, recipe: str | Path | None = None) -> Path:
    """The recipe a resumed run loads: `<run_dir>/recipe.yaml`.

    Args:
        run_dir: the run folder given to `--resume`.
        recipe: a recipe file also given on the command line; allowed only when it is that file.

    Raises:
        ResumeError: no such run folder, no recorded recipe in it, or another recipe file given.

    Example:
        >>> recorded_recipe_path("/no/such/run")
        Traceback (most recent call last):
        ...
        grpo_training.run.resume.ResumeError: --resume /no/such/run: no such run folder
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResumeError(f"--resume {run_dir}: no such run folder")
    path = run_dir / RECIPE_FILE
    if not path.is_file():
        raise ResumeError(f"--resume {run_dir}: no {RECIPE_FILE} in it, so it is not a run folder this toolkit wrote "
                          "(or its recipe was deleted)")
    if recipe is not None and Path(recipe).resolve() != path.resolve():
        raise ResumeError(f"--resume {run_dir} continues the run with its own {path}; drop the recipe {recipe} "
                          "(change what is safe to change with --set)")
    return path


def flatten_recipe(recipe: Recipe) -> dict[str, Any]:
    """`section.field` -> value for every field (`rewards` as one value; unset `grpo` fields absent).

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> flat = flatten_recipe(Recipe(grpo={"max_steps": 3}))
        >>> flat["grpo.max_steps"], flat["lora.r"]
        (3, 16)
    """
    flat: dict[str, Any] = {}
    for section, values in recipe.to_dict().items():
        if section == "rewards":
            flat["rewards"] = values
            continue
        for name, value in values.items():
            flat[f"{section}.{name}"] = value
    return flat


def _same_run_folder(recorded: Recipe, requested: Recipe, run_dir: Path | None) -> bool:
    if run_dir is None:
        return False
    folder = Path(requested.run.output_dir) / (requested.run.name or "")
    return folder.resolve() == Path(run_dir).resolve()


def resume_changes(recorded: Recipe, requested: Recipe, run_dir: str | Path | None = None) -> list[str]:
    """The changes `requested` makes to the `recorded` recipe of a run, as `field: old -> new` lines.

    Args:
        recorded: the run's own recipe (`<run>/recipe.yaml`).
        requested: the recipe the resumed run would use.
        run_dir: the run folder; `run.output_dir` / `run.name` may differ when they still name it.

    Raises:
        ResumeError: a change outside `SAFE_ON_RESUME` (or a smaller `max_steps`), naming the field.

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> resume_changes(Recipe(grpo={"save_steps": 20}), Recipe(grpo={"save_steps": 5}))
        ['grpo.save_steps: 20 -> 5']
        >>> resume_changes(Recipe(grpo={"max_steps": 40}), Recipe(grpo={"max_steps": 30}))
        Traceback (most recent call last):
        ...
        grpo_training.run.resume.ResumeError: grpo.max_steps: on resume it can only grow (recorded 40, asked 30); the run's trained steps are kept, so a smaller or unset value would not continue it
    """
    old, new = flatten_recipe(recorded), flatten_recipe(requested)
    changes = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        if path in RUN_FOLDER_FIELDS and _same_run_folder(recorded, requested, Path(run_dir) if run_dir else None):
            continue
        rule = SAFE_ON_RESUME.get(path)
        if rule is None:
            safe = ", ".join(f"{name} ({how})" if how else name for name, how in sorted(SAFE_ON_RESUME.items()))
            raise ResumeError(f"{path}: cannot change on resume (recorded {before!r}, asked {after!r}): a resumed run "
                              f"continues with its own recipe; start a new run for other settings (safe to change: {safe})")
        if rule == LARGER_ONLY and not _larger(before, after):
            raise ResumeError(f"{path}: on resume it can only grow (recorded {before!r}, asked {after!r}); the run's "
                              "trained steps are kept, so a smaller or unset value would not continue it")
        changes.append(f"{path}: {before!r} -> {after!r}")
    return changes


def _larger(before: Any, after: Any) -> bool:
    numbers = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (before, after))
    return numbers and before > 0 and after > before


def load_resume_recipe(run_dir: str | Path, overrides: list[str] | None = None,
                       recipe: str | Path | None = None) -> Recipe:
    """The recipe a resumed run uses: the run's own `recipe.yaml` with the safe `--set` overrides.

    Unsafe overrides are refused before any model loads (`resume_changes`). The apps and
    `python -m grpo_training train --resume` both call this.

    Raises:
        ResumeError: see `recorded_recipe_path` and `resume_changes`.
        RecipeError: an override that is not valid for the recipe at all.

    Example:
        >>> load_resume_recipe("/no/such/run", ["grpo.max_steps=80"])
        Traceback (most recent call last):
        ...
        grpo_training.run.resume.ResumeError: --resume /no/such/run: no such run folder
    """
    from grpo_training.recipe import load_recipe

    path = recorded_recipe_path(run_dir, recipe)
    recorded = load_recipe(path, check_files=False)
    requested = load_recipe(path, overrides)
    resume_changes(recorded, requested, run_dir)
    return requested


def check_resumed_recipe(run_dir: str | Path, recipe: Recipe) -> list[str]:
    """Before a resumed run rewrites `<run>/recipe.yaml`: refuse unsafe changes, log the safe ones.

    A run folder without a recorded recipe (written by an older version) has nothing to compare.

    Returns:
        The changes, as logged (`Resume: changed ...`).

    Example:
        >>> import tempfile
        >>> from grpo_training.recipe import Recipe
        >>> check_resumed_recipe(tempfile.mkdtemp(), Recipe())  # no recipe.yaml recorded: nothing to compare
        []
    """
    from grpo_training.recipe import load_recipe

    path = Path(run_dir) / RECIPE_FILE
    if not path.is_file():
        return []
    changes = resume_changes(load_recipe(path, check_files=False), recipe, run_dir)
    for change in changes:
        logger.info("Resume: changed %s (recorded in %s)", change, path)
    return changes
