"""The `train` command: the one start-up path of a training process, whether a user types
`python -m grpo_training train`, an app starts its training stage (`grpo_training.cli.app.train_in_fresh_process`), or
`launch` checks the arguments before `accelerate launch` starts one such process per GPU.

It chooses the backend from the recipe file before anything imports trl (Unsloth must come first), then loads and
validates the recipe (with `--resume`: the run's own), then runs it. Every expected error prints one `error:` line
and exits with status 2 (`grpo_training.clean_errors`).

Example:
    >>> build_train_parser().parse_args(["recipe.yaml", "--set", "grpo.max_steps=2"]).overrides
    ['grpo.max_steps=2']
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from grpo_training.clean_errors import exits_cleanly

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

logger = logging.getLogger("grpo_training.cli")


def build_train_parser() -> argparse.ArgumentParser:
    """The `train` subcommand's arguments."""
    parser = argparse.ArgumentParser(prog="python -m grpo_training train",
                                     description="GRPO fine-tuning from a YAML recipe.")
    parser.add_argument("recipe", nargs="?", help="YAML recipe (default: <resume dir>/recipe.yaml, else the CPU demo)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a recipe field, e.g. --set grpo.learning_rate=1e-5 (repeatable)")
    parser.add_argument("--backend", choices=["auto", "trl", "unsloth"], default=None,
                        help="override run.backend (auto: unsloth on CUDA when installed, else trl)")
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue a run from its newest complete checkpoint")
    parser.add_argument("--check", action="store_true", help="validate the recipe and exit (no model is loaded)")
    parser.add_argument("--result-file", type=Path, metavar="JSON",
                        help="write the run's folder, artefacts and base model here when it ends (the apps read it)")
    return parser


def train_recipe_source(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The recipe file and overrides a `train` command line runs (with --resume: the run's own recipe file).

    Example:
        >>> train_recipe_source(build_train_parser().parse_args(["r.yaml", "--backend", "trl"]))
        ('r.yaml', ['run.backend=trl'])
    """
    from grpo_training.recipe import DEMO_RECIPE
    from grpo_training.run.resume import recorded_recipe_path

    overrides = args.overrides + ([f"run.backend={args.backend}"] if args.backend else [])
    if args.resume:
        return str(recorded_recipe_path(args.resume, args.recipe)), overrides
    return args.recipe or str(DEMO_RECIPE), overrides


def load_train_recipe(args: argparse.Namespace) -> Recipe:
    """The validated recipe a `train` command line runs; with --resume the run's own, changed only where that is
    safe mid-run (`grpo_training.run.resume.load_resume_recipe`). Imports trl: choose the backend first.

    Example:
        >>> load_train_recipe(build_train_parser().parse_args(["--set", "grpo.max_steps=3"])).grpo["max_steps"]
        3
    """
    from grpo_training.recipe import load_recipe
    from grpo_training.run.resume import load_resume_recipe

    recipe_path, overrides = train_recipe_source(args)
    return load_resume_recipe(args.resume, overrides) if args.resume else load_recipe(recipe_path, overrides)


@exits_cleanly
def main_train(argv: list[str]) -> int:
    """`train`: validate the recipe (with --resume: the run's own, see `grpo_training.run.resume`), then run it."""
    args = build_train_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Choose the backend first: Unsloth must be imported before trl (which the config module imports).
    from grpo_training.model.backends import select_backend
    from grpo_training.recipe import peek_backend

    recipe_path, overrides = train_recipe_source(args)
    if not args.check:
        select_backend(peek_backend(recipe_path, overrides), import_early=True, log=False)
    recipe = load_train_recipe(args)
    if args.check:
        print(f"recipe OK: {recipe_path}")
        return 0
    from grpo_training.recipe.secrets import redact_text

    logger.info("%s: %s%s", f"Resume: {args.resume} with its own recipe" if args.resume else "Recipe", recipe_path,
                f" with {redact_text(', '.join(overrides))}" if overrides else "")
    from grpo_training import distributed
    from grpo_training.run.grpo import run_grpo

    result = run_grpo(recipe, resume_from=args.resume)
    if distributed.is_main_process():
        if args.result_file:
            from grpo_training.cli.app import TrainedRun

            TrainedRun.write(result, recipe, args.result_file)
        else:
            print(f"run folder: {result.run_dir}\nLoRA: {result.lora_dir}\nsteps: {result.global_step}")
    distributed.finish()
    return 0
