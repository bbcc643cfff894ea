"""Valid ranges of recipe values, checked before any model loads.

A value of the right type can still be impossible: a learning rate of 0, a negative batch, a LoRA
rank of 0, a temperature of 0 for GRPO's sampling. Unchecked, such values fail after the model has loaded
(or, for a negative `max_steps`, run a whole epoch). `RANGES` lists
every ranged field in one table; `check_ranges` (called by `grpo_training.recipe.checks.validate_recipe`,
which the apps and the CLI share) checks it and the few limits between fields. The token budgets and their
limits are `grpo_training.recipe.lengths.GRPOLengths`'s.

`grpo.max_steps` is `>= 1`, or `-1` meaning "train for `grpo.num_train_epochs` epochs" (TRL's default);
0 and other negative values are errors.

Example:
    >>> from grpo_training.recipe import Recipe
    >>> check_ranges(Recipe(grpo={"learning_rate": 0.0}))
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: grpo.learning_rate: must be > 0, got 0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from grpo_training.recipe.sections import Recipe, RecipeError


@dataclass
class Range:
    """An interval of valid values, plus special values with a meaning (e.g. -1 for max_steps).

    Example:
        >>> Range(low=0, low_open=True).problem(0)
        'must be > 0, got 0'
        >>> Range(low=1, special={-1: "train for grpo.num_train_epochs"}).problem(-1) is None
        True
        >>> Range(low=0, high=1).problem(float("nan"))
        'must be a finite number in [0, 1], got nan'
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    special: dict[Any, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The range in words, e.g. `in (0, 1]` or `>= 1`."""
        if self.low is not None and self.high is not None:
            text = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {self.low:g}"
        else:
            text = f"{'<' if self.high_open else '<='} {self.high:g}"
        return text + "".join(f", or {value} to {meaning}" for value, meaning in self.special.items())

    def problem(self, value: float) -> str | None:
        """Why `value` is out of range, or None when it is valid."""
        if not math.isfinite(value):
            return f"must be a finite number {self.describe()}, got {value!r}"
        if value in self.special:
            return None
        too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if too_low or too_high:
            return f"must be {self.describe()}, got {value!r}"
        return None


POSITIVE = Range(low=0, low_open=True)
NON_NEGATIVE = Range(low=0)
AT_LEAST_ONE = Range(low=1)
FRACTION = Range(low=0, high=1, low_open=True)  # (0, 1]
PROBABILITY = Range(low=0, high=1)  # [0, 1]

RANGES: dict[str, Range] = {
    "model.max_seq_length": Range(low=2),
    "model.gpu_memory_utilization": FRACTION,
    "model.max_lora_rank": AT_LEAST_ONE,
    "lora.r": AT_LEAST_ONE,
    "lora.alpha": POSITIVE,
    "lora.dropout": Range(low=0, high=1, high_open=True),
    "grpo.learning_rate": POSITIVE,
    "grpo.max_steps": Range(low=1, special={-1: "train for grpo.num_train_epochs"}),
    "grpo.num_train_epochs": POSITIVE,
    "grpo.per_device_train_batch_size": AT_LEAST_ONE,
    "grpo.per_device_eval_batch_size": AT_LEAST_ONE,
    "grpo.gradient_accumulation_steps": AT_LEAST_ONE,
    "grpo.num_generations": Range(low=2),
    "grpo.num_generations_eval": AT_LEAST_ONE,
    "grpo.generation_batch_size": AT_LEAST_ONE,
    "grpo.steps_per_generation": AT_LEAST_ONE,
    "grpo.num_iterations": AT_LEAST_ONE,
    "grpo.temperature": POSITIVE,
    "grpo.top_p": FRACTION,
    "grpo.top_k": NON_NEGATIVE,
    "grpo.min_p": PROBABILITY,
    "grpo.repetition_penalty": POSITIVE,
    "grpo.beta": NON_NEGATIVE,
    "grpo.epsilon": POSITIVE,
    "grpo.epsilon_high": POSITIVE,
    "grpo.weight_decay": NON_NEGATIVE,
    "grpo.max_grad_norm": NON_NEGATIVE,
    "grpo.warmup_ratio": Range(low=0, high=1, high_open=True),
    "grpo.warmup_steps": NON_NEGATIVE,
    "grpo.logging_steps": POSITIVE,
    "grpo.save_steps": Range(low=0, low_open=True, special={0: "save no checkpoints"}),  # grpo_args: 0 = "no"
    "grpo.eval_steps": POSITIVE,
    "grpo.save_total_limit": AT_LEAST_ONE,
    "data.synthetic_rows": AT_LEAST_ONE,
    "data.eval_rows": NON_NEGATIVE,
    "data.max_train_rows": AT_LEAST_ONE,
    "data.prompt_length_quantile": FRACTION,
    "evaluation.temperature": NON_NEGATIVE,  # 0 = greedy decoding
    "evaluation.top_p": FRACTION,
    "evaluation.top_k": NON_NEGATIVE,
    "evaluation.max_new_tokens": AT_LEAST_ONE,
    "evaluation.batch_size": AT_LEAST_ONE,
    "run.log_completions_every": NON_NEGATIVE,
    "run.signal_check_prompts": NON_NEGATIVE,
}


def recipe_value(recipe: Recipe, path: str) -> Any:
    """The value at `section.field` of a recipe (None when a `grpo` field is unset).

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> recipe_value(Recipe(), "lora.r"), recipe_value(Recipe(), "grpo.max_steps")
        (16, None)
    """
    section, name = path.split(".", 1)
    if section == "grpo":
        return recipe.grpo.get(name)
    return getattr(getattr(recipe, section), name)


def check_ranges(recipe: Recipe) -> None:
    """Raise `RecipeError` naming the first field whose value is outside its range (see `RANGES`),
    or a pair of fields that cannot hold together (both warmup_ratio and warmup_steps; more held-out
    rows than synthetic rows).

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> check_ranges(Recipe(grpo={"max_steps": -1}))  # -1: train for num_train_epochs
        >>> check_ranges(Recipe(grpo={"max_steps": -5}))
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: grpo.max_steps: must be >= 1, or -1 to train for grpo.num_train_epochs, got -5
    """
    check_finite_numbers(recipe)
    for path, valid in RANGES.items():
        value = recipe_value(recipe, path)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # unset, or a type the recipe's type check already refused
        problem = valid.problem(value)
        if problem:
            raise RecipeError(f"{path}: {problem}")
    if recipe.grpo.get("warmup_ratio") is not None and recipe.grpo.get("warmup_steps"):
        raise RecipeError("grpo.warmup_ratio and grpo.warmup_steps are both set; keep one")
    data = recipe.data
    if data.source == "synthetic" and data.eval_rows >= data.synthetic_rows:
        raise RecipeError(f"data.eval_rows: {data.eval_rows} held-out rows of {data.synthetic_rows} synthetic rows "
                          f"leave none for training; hold out at most {data.synthetic_rows - 1} or raise data.synthetic_rows")


def check_finite_numbers(recipe: Recipe) -> None:
    """Raise `RecipeError` naming the first number of the recipe that is infinite or NaN: every section's
    fields, the `grpo` fields, reward weights and parameters, and numbers nested in mappings or lists.

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> check_finite_numbers(Recipe(grpo={"adam_beta1": float("inf")}))
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: grpo.adam_beta1: must be a finite number, got inf
    """
    for where, value in _numbers(recipe.to_dict(), ""):
        if not math.isfinite(value):
            raise RecipeError(f"{where}: must be a finite number, got {value!r}")


def _numbers(value: Any, where: str) -> list[tuple[str, float]]:
    """(`section.field` path, value) of every float under `value` (reward entries named `rewards[i]`)."""
    if isinstance(value, float):
        return [(where, value)]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _numbers(item, f"{where}.{key}" if where else str(key))]
    if isinstance(value, (list, tuple)):
        prefix = "rewards" if where == "rewards.funcs" else where
        return [found for index, item in enumerate(value) for found in _numbers(item, f"{prefix}[{index}]")]
    return []
