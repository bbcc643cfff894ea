"""The recipe's `grpo` section: TRL's `GRPOConfig` fields, extended by `GRPOSettings`.

The recipe module that imports trl at its top (the backend must be chosen before trl is imported, so the
entry points reach this module only after `grpo_training.model.backends.select_backend`). An unknown
field is refused with the closest field names (difflib), a field another section owns with its place.

Example:
    >>> grpo_field_types()["learning_rate"]
    <class 'float'>
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig

from grpo_training.recipe.coercion import coerce_value, field_types
from grpo_training.recipe.sections import RecipeError


@dataclass
class GRPOSettings(GRPOConfig):
    """TRL's `GRPOConfig` plus the tutorial fields that TRL 1.14.2 lacks.

    Defaults differ from TRL's in two places: `max_completion_length` is None (derived as
    `model.max_seq_length - max_prompt_length`), and `output_dir` is set by the run.
    """

    max_prompt_length: int | None = field(default=None, metadata={"help": "Prompt token budget. Not a TRL "
                                          "field: applied by dropping longer prompts (counted and logged); None = "
                                          "derived from data.prompt_length_quantile or the longest prompt."})
    warmup_ratio: float | None = field(default=None, metadata={"help": "Fraction of steps to warm up; "
                                       "transformers 5 has no warmup_ratio, so it is passed as a float "
                                       "warmup_steps < 1."})
    vllm_sampling_kwargs: dict | None = field(default=None, metadata={"help": "Extra vLLM SamplingParams "
                                              "arguments for the unsloth backend (seed, stop, "
                                              "include_stop_str_in_output); '{eos_token}' in stop becomes the "
                                              "tokenizer's EOS. min_p/top_p/top_k/temperature come from the "
                                              "GRPOConfig fields."})
    max_completion_length: int | None = field(default=None, metadata={"help": "Completion token budget; "
                                              "None = model.max_seq_length - max_prompt_length."})


# GRPOConfig fields that other sections own: one source of truth for each value.
OWNED_ELSEWHERE = {
    "output_dir": "run.output_dir",
    "run_name": "run.name",
    "report_to": "run.report_to",
    "seed": "run.seed",
    "gradient_checkpointing": "lora.gradient_checkpointing",
    "reward_weights": "rewards[].weight",
}


def grpo_field_types() -> dict[str, Any]:
    """Field name -> type of every field of `GRPOSettings` (TRL's GRPOConfig plus ours).

    Example:
        >>> grpo_field_types()["max_prompt_length"]
        int | None
    """
    return field_types(GRPOSettings)


def build_grpo_section(values: Any) -> dict[str, Any]:
    """The `grpo` section as a dict of checked, coerced `GRPOSettings` fields.

    Example:
        >>> build_grpo_section({"max_steps": "2", "learning_rate": "5e-6"})
        {'max_steps': 2, 'learning_rate': 5e-06}
        >>> build_grpo_section({"seed": 1})
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: grpo.seed: set run.seed instead (one place for each value)
    """
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise RecipeError(f"grpo: expected a mapping of GRPOConfig fields, got {type(values).__name__}")
    types_ = grpo_field_types()
    result = {}
    for name, value in values.items():
        if name in OWNED_ELSEWHERE:
            raise RecipeError(f"grpo.{name}: set {OWNED_ELSEWHERE[name]} instead (one place for each value)")
        if name not in types_:
            close = difflib.get_close_matches(name, list(types_), n=3)
            hint = f"; similar fields: {', '.join(close)}" if close else ""
            raise RecipeError(f"grpo.{name}: unknown field, not in TRL 1.14.2's GRPOConfig nor ours{hint}")
        result[name] = coerce_value(value, types_[name], f"grpo.{name}")
    return result

