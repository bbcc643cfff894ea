"""Evaluation: held-out answer accuracy, format compliance and target-language rate, before/after.

Example:
    >>> from grpo_training.evaluation import SamplingSettings, evaluate, format_eval_table  # doctest: +SKIP
    >>> report = evaluate(model, tokenizer, held_out, task="xml", prefix="<reasoning>\\n",
    ...                   sampling=SamplingSettings(max_new_tokens=96), label="before")  # doctest: +SKIP
    >>> print(format_eval_table([report]))  # doctest: +SKIP
"""

from grpo_training.evaluation.evaluate import TASKS, EvalReport, adapter_disabled, evaluate
from grpo_training.evaluation.report import format_eval_table, write_eval_json
from grpo_training.evaluation.sampling import (
    PHI4_GSM8K_SAMPLING,
    R1_DAPO_SAMPLING,
    SAMPLING_PRESETS,
    SamplingSettings,
)

__all__ = [
    "PHI4_GSM8K_SAMPLING",
    "R1_DAPO_SAMPLING",
    "SAMPLING_PRESETS",
    "TASKS",
    "EvalReport",
    "SamplingSettings",
    "adapter_disabled",
    "evaluate",
    "format_eval_table",
    "write_eval_json",
]
