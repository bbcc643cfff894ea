"""What every app script under `apps/` shares: its command line, and choosing the recipe to run
(the tutorial's, or the CPU demo when asked for or when no GPU is present, saying why).

`app_setup` chooses the training backend from the recipe file before anything imports trl: on a
GPU it imports Unsloth first, as Unsloth requires (its patches of trl apply only then). So an app
script imports `run_grpo` after `app_setup`, and this module imports the recipe module lazily.

Example:
    >>> parser = app_argument_parser("Tutorial 1: Phi-4 on GSM8K.")
    >>> args = parser.parse_args(["--demo", "--set", "grpo.max_steps=2"])
    >>> args.demo, args.set
    (True, ['grpo.max_steps=2'])
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from grpo_training.backends import cuda_available, select_backend
from grpo_training.recipe_files import DEMO_RECIPE, peek_backend

if TYPE_CHECKING:
    from grpo_training.config import Recipe

logger = logging.getLogger("grpo_training.app")

RECIPE_FILE = "recipe.yaml"
DEMO_RECIPE_FILE = "recipe_demo.yaml"


def app_argument_parser(description: str) -> argparse.ArgumentParser:
    """The command line every app accepts.

    Example:
        >>> app_argument_parser("demo").parse_args([]).gguf
        ['q8_0']
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, help=f"YAML recipe (default: the app's {RECIPE_FILE}; "
                        f"with --demo its {DEMO_RECIPE_FILE})")
    parser.add_argument("--demo", action="store_true", help="run the CPU demo: embedded SmolLM2-135M-Instruct, "
                        "synthetic data, demo length")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a recipe field, e.g. --set grpo.max_steps=10 (repeatable)")
    parser.add_argument("--backend", choices=["auto", "trl", "unsloth"], help="override run.backend")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue a run folder from its newest usable checkpoint, with the run's own recipe.yaml "
                             "(--set may change only what is safe mid-run, e.g. a larger grpo.max_steps)")
    parser.add_argument("--gguf", nargs="*", default=["q8_0"], metavar="METHOD",
                        help="GGUF quantisations to export (e.g. q8_0 f16 q4_k_m); none: --gguf with no method")
    parser.add_argument("--push-to-hub", metavar="REPO", help="push the merged 16-bit model to this Hub repo "
                        "(token from HF_TOKEN or `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="create the Hub repo private")
    return parser


def app_recipe_source(args: argparse.Namespace, app_dir: Path) -> tuple[Path, list[str]]:
    """The recipe file and overrides an app run uses (reads no recipe and imports no trl).

    With `--demo`, or when the tutorial recipe needs a GPU that is not there, the app's
    `recipe_demo.yaml` (else the training package's CPU demo) is used, and the switch is logged with
    its reason instead of failing. `--backend` becomes a `run.backend` override.

    Example:
        >>> args = app_argument_parser("x").parse_args(["--demo", "--backend", "trl"])
        >>> path, overrides = app_recipe_source(args, Path("apps/phi4_gsm8k"))
        >>> path.name, overrides
        ('demo_cpu.yaml', ['run.backend=trl'])
    """
    app_dir = Path(app_dir)
    recipe_path = args.recipe or app_dir / RECIPE_FILE
    demo = args.demo
    if not demo and args.recipe is None and not cuda_available():
        logger.warning("No CUDA GPU here: %s needs Unsloth on a GPU, so this run switches to the CPU demo "
                       "(embedded SmolLM2-135M-Instruct, synthetic data, demo length). Pass --demo to choose it "
                       "explicitly, or --recipe/--backend trl to run a recipe on the CPU anyway.", recipe_path)
        demo = True
    if demo and args.recipe is None:
        app_demo = app_dir / DEMO_RECIPE_FILE
        recipe_path = app_demo if app_demo.is_file() else DEMO_RECIPE
    overrides = list(args.set)
    if args.backend:
        overrides.append(f"run.backend={args.backend}")
    return Path(recipe_path), overrides


def app_setup(description: str, app_dir: Path, argv: list[str] | None = None) -> tuple[Recipe, argparse.Namespace]:
    """Start an app: console logging, its command line, the backend (Unsloth imported before trl when it
    is chosen), and the recipe to run (see `app_recipe_source`).

    With `--resume RUN_DIR` the recipe is the run's own `recipe.yaml`, with only the `--set` overrides
    that are safe mid-run (`grpo_training.resume.load_resume_recipe`, the same code path as
    `python -m grpo_training train --resume`); `--demo` then changes nothing.

    Example:
        >>> recipe, args = app_setup("x", Path("apps/phi4_gsm8k"), ["--demo"])
        >>> recipe.model.name is None, args.gguf
        (True, ['q8_0'])
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = app_argument_parser(description).parse_args(argv)
    if args.resume is not None:
        from grpo_training.resume import load_resume_recipe, recorded_recipe_path

        recipe_path = recorded_recipe_path(args.resume, args.recipe)
        overrides = list(args.set) + ([f"run.backend={args.backend}"] if args.backend else [])
        select_backend(peek_backend(recipe_path, overrides), import_early=True, log=False)
        recipe = load_resume_recipe(args.resume, overrides)
        logger.info("Resume: %s with its own recipe %s%s", args.resume, recipe_path,
                    f" and {', '.join(overrides)}" if overrides else "")
        return recipe, args
    recipe_path, overrides = app_recipe_source(args, app_dir)
    select_backend(peek_backend(recipe_path, overrides), import_early=True, log=False)
    from grpo_training.config import load_recipe

    recipe = load_recipe(recipe_path, overrides)
    logger.info("Recipe: %s%s", recipe_path, f" with {', '.join(overrides)}" if overrides else "")
    return recipe, args


def base_model_path(recipe: Recipe) -> str:
    """The base model a run trained on: the recipe's model, or the embedded one's cache folder.

    Example:
        >>> from grpo_training.config import Recipe
        >>> base_model_path(Recipe()).endswith("SmolLM2-135M-Instruct-0.1.2-r2")
        True
    """
    if recipe.model.name:
        return recipe.model.name
    from grpo_training.embedded import embedded_model_path

    return str(embedded_model_path())


EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


def model_card_facts(recipe: Recipe) -> dict:
    """What a model card should name for a run of `recipe`: the base model's Hub id and the data sets.

    Example:
        >>> from grpo_training.config import Recipe
        >>> model_card_facts(Recipe())
        {'card_base_model': 'HuggingFaceTB/SmolLM2-135M-Instruct', 'datasets': []}
    """
    from grpo_training.config import looks_like_path

    source = recipe.data.source
    return {"card_base_model": recipe.model.name or EMBEDDED_HUB_ID,
            "datasets": [] if source == "synthetic" or looks_like_path(source) else [source]}


def print_run_summary(result, exported_lines: str = "") -> None:
    """Print where a run's artefacts are, and how to open its SwanLab dashboard."""
    lines = [f"\nRun folder {result.run_dir}", f"  LoRA           {result.lora_dir}"]
    if exported_lines:
        lines.append(exported_lines)
    lines += [f"  reward curve   {result.curve_path}", f"  metrics        {result.metrics_path}",
              f"  evaluation     {result.eval_path}",
              f"  dashboard      hatch run swanlab watch {result.run_dir / 'swanlog'} --host 127.0.0.1 --port 5092"]
    print("\n".join(lines))
