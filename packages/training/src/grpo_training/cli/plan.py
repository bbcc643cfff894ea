"""The `plan` command: a recipe's memory plan on a card, without loading the model.

    python -m grpo_training plan RECIPE.yaml --gpu-memory 24GB [--set section.field=value ...] [--backend unsloth|trl]

Prints the plan's table and whether it fits; when it does not, the single changes that would (fewer generations,
a shorter `model.max_seq_length`, 4-bit, vLLM's `auto` share). Exit status 0: fits; 1: does not fit; 2: a bad
recipe or size (one `error:` line). Without `--gpu-memory` the card CUDA shows is the budget.

Example:
    >>> build_plan_parser().parse_args(["r.yaml", "--gpu-memory", "24GB"]).gpu_memory
    '24GB'
"""

from __future__ import annotations

import argparse

from grpo_training.clean_errors import exits_cleanly

DOES_NOT_FIT = 1


def build_plan_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grpo_training plan",
                                     description="A recipe's GPU memory plan, from the recipe and the model's config.json.")
    parser.add_argument("recipe", help="YAML recipe")
    parser.add_argument("--gpu-memory", metavar="SIZE", default=None,
                        help="the card or budget, e.g. 24GB, 22.5GiB (GB = GiB, as cards are sold); default: "
                             "model.gpu_memory, else the CUDA card found")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a recipe field (repeatable)")
    parser.add_argument("--backend", choices=["unsloth", "trl"], default=None,
                        help="plan for this backend (default: trl when run.backend is trl, else unsloth, which "
                             "the apps use on a GPU)")
    return parser


@exits_cleanly
def main_plan(argv: list[str]) -> int:
    """`plan`: print the memory plan; 0 when it fits, 1 when it does not."""
    args = build_plan_parser().parse_args(argv)
    from grpo_training.recipe import RecipeError, load_recipe
    from grpo_training.preflight.memory_check import card_memory, memory_budget
    from grpo_training.preflight.memory_plan import plan_memory, read_model_shape

    overrides = args.overrides + ([f"model.gpu_memory={args.gpu_memory}"] if args.gpu_memory else [])
    recipe = load_recipe(args.recipe, overrides)
    backend = args.backend or ("trl" if recipe.run.backend == "trl" else "unsloth")
    card = card_memory()
    budget, source = memory_budget(recipe, card)
    if budget is None:
        raise RecipeError("model.gpu_memory: no GPU here; give the card's memory, e.g. --gpu-memory 24GB")
    card_bytes = card[1] if card and recipe.model.gpu_memory is None else budget
    plan = plan_memory(recipe, read_model_shape(recipe), budget=budget, card=card_bytes, backend=backend)
    print(plan.table())
    print(f"{'fits' if plan.fits else 'does not fit'}: {source}, {backend} backend")
    return 0 if plan.fits else DOES_NOT_FIT
