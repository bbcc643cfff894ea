"""The memory pre-flight of a run, before any model loads: plan, refuse what cannot fit, hold the process to
`model.gpu_memory`, and choose vLLM's share for `model.gpu_memory_utilization: auto`.

The budget is `model.gpu_memory` when given (at most the card), else the card CUDA shows; on a machine with no
GPU and no `model.gpu_memory` the plan is only reported. When the budget is below the card, torch's allocator is
capped (`torch.cuda.set_per_process_memory_fraction`) at the budget less the CUDA context, so the whole
process stays inside it; vLLM's reservation is allocated through torch and counts against that cap.

Example:
    >>> from grpo_training.recipe import Recipe
    >>> Recipe().model.gpu_memory_utilization
    'auto'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from grpo_training.preflight.memory_plan import CUDA_CONTEXT, MemoryPlan, plan_memory, read_model_shape
from grpo_training.memory_sizes import GIB, parse_memory_size
from grpo_training.recipe import RecipeError

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

logger = logging.getLogger("grpo_training.run")  # the run's logger: the plan belongs to the run's log


class DoesNotFitError(RecipeError):
    """The recipe needs more GPU memory than the budget; the message names the need and what would fit."""


def card_memory() -> tuple[str, int] | None:
    """(name, total bytes) of the CUDA device this process uses, or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(torch.cuda.current_device())
    return properties.name, properties.total_memory


def memory_budget(recipe: Recipe, card: tuple[str, int] | None) -> tuple[float | None, str]:
    """(bytes the run may use, where that figure comes from)."""
    card_text = f"{card[0]} {card[1] / GIB:.1f} GiB" if card else "no GPU found"
    if recipe.model.gpu_memory is None:
        return (card[1], card_text) if card else (None, card_text)
    wanted = parse_memory_size(recipe.model.gpu_memory)
    if card and wanted > card[1]:
        logger.warning("model.gpu_memory %s is more than the card (%s): the card's memory is the budget",
                       recipe.model.gpu_memory, card_text)
        return card[1], card_text
    return wanted, f"model.gpu_memory {recipe.model.gpu_memory}" + (f" of {card_text}" if card else "")


def check_memory(recipe: Recipe, backend: str, cuda: bool) -> MemoryPlan:
    """Plan the run's memory on `backend` ("trl" or "unsloth"; `cuda`: whether it trains on the GPU), log the table,
    and refuse (`DoesNotFitError`) a recipe over its budget; on CUDA with a budget below the card, cap torch to it.
    Returns the plan (its `vllm_share` is vLLM's utilization)."""
    card = card_memory() if cuda else None
    budget, source = memory_budget(recipe, card)
    shape = read_model_shape(recipe)
    plan = plan_memory(recipe, shape, budget=budget, card=card[1] if card else budget, backend=backend)
    logger.info("%s", plan.table())
    if not plan.fits:
        raise DoesNotFitError(does_not_fit_message(plan, source))
    if card and budget is not None and budget < card[1]:
        import torch

        fraction = max(budget - CUDA_CONTEXT, 0) / card[1]
        torch.cuda.set_per_process_memory_fraction(fraction)
        logger.info("Memory: torch held to %.3f of the card (%.1f GiB: %s less %.1f GiB of CUDA context)",
                    fraction, fraction * card[1] / GIB, source, CUDA_CONTEXT / GIB)
    return plan


def does_not_fit_message(plan: MemoryPlan, source: str) -> str:
    """One line: the need by part, the budget and where it comes from, and the changes that would fit."""
    parts = ", ".join(f"{row.name} {row.bytes / GIB:.1f}" for row in plan.rows if row.bytes >= 0.05 * GIB)
    fixes = ("; fits with: " + "; ".join(plan.suggestions) if plan.suggestions else
             "; no single change of generations, max_seq_length, 4-bit or vLLM share fits: combine them or use a "
             "larger card")
    return (f"model.gpu_memory: the recipe needs {plan.total / GIB:.1f} GiB ({parts} GiB) for {plan.model}, over the "
            f"{plan.budget / GIB:.1f} GiB budget ({source}){fixes}")
