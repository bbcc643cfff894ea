"""Pre-flight checks of a run, before its GPU time is spent: whether it fits the card (`memory_plan`,
`memory_check`) and whether its rewards can teach the model anything (`learning_signal`).

`python -m grpo_training plan RECIPE --gpu-memory 24GB` prints the memory plan alone.
"""

from __future__ import annotations

from grpo_training.preflight.memory_check import DoesNotFitError, check_memory
from grpo_training.preflight.memory_plan import MemoryPlan, ModelShape, plan_memory, read_model_shape
from grpo_training.memory_sizes import parse_memory_size

__all__ = ["DoesNotFitError", "MemoryPlan", "ModelShape", "check_memory", "parse_memory_size", "plan_memory",
           "read_model_shape"]
