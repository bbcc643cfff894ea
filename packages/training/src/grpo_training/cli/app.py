"""What every app script under `apps/` shares: `TutorialApp`, which runs a tutorial's steps in the tutorial's
order; its command line; choosing the recipe to run (the tutorial's, or the CPU demo when asked for or when no GPU
is present, saying why); and running each stage in a process of its own.

An app is two stages, each in a fresh process: training (`python -m grpo_training train`, which imports
Unsloth before trl on a GPU) and export (`python -m grpo_export run`). When the training process ends, the
trainer, the optimizer state and vLLM's reservation (most of the GPU, still held after the engine is shut down
in-process) end with it, so the export starts on a free GPU.
The app's own process only chooses and waits; it never imports trl. A stage's process, and what it starts,
ends with the app, however the app ends (`grpo_training.processes`).

Example:
    >>> parser = app_argument_parser("Tutorial 1: Phi-4 on GSM8K.")
    >>> args = parser.parse_args(["--demo", "--set", "grpo.max_steps=2"])
    >>> args.demo, args.set
    (True, ['grpo.max_steps=2'])
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grpo_training.clean_errors import StageProcessFailed, exits_cleanly
from grpo_training.model.backends import cuda_available
from grpo_training.processes import run_in_own_group
from grpo_training.recipe import DEMO_RECIPE

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

logger = logging.getLogger("grpo_training.cli.app")

RECIPE_FILE = "recipe.yaml"
DEMO_RECIPE_FILE = "recipe_demo.yaml"


def hub_repo_id(text: str) -> str:
    """A `--push-to-hub` value, checked with huggingface_hub's own validator before any training starts.

    Example:
        >>> hub_repo_id("me/phi4-gsm8k-grpo")
        'me/phi4-gsm8k-grpo'
        >>> hub_repo_id("me/my model")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: 'me/my model' is not a Hub repo id: use 'user/name' (letters, digits, '-', '_', '.')
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        if text.count("/") != 1:
            raise HFValidationError(text)
        validate_repo_id(text)
        validate_repo_id(f"{text}-GGUF")
    except HFValidationError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Hub repo id: use 'user/name' (letters, digits, '-', "
                                         "'_', '.')") from None
    return text


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
    parser.add_argument("--cpu", action="store_true", help="run the recipe as asked on the CPU (TRL + PEFT; "
                        "= --backend trl) instead of falling back to the demo when no GPU is present")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue a run folder from its newest usable checkpoint, with the run's own recipe.yaml "
                             "(--set may change only what is safe mid-run, e.g. a larger grpo.max_steps)")
    parser.add_argument("--gguf", nargs="*", default=["q8_0"], metavar="METHOD",
                        help="GGUF quantisations to export (e.g. q8_0 f16 q4_k_m); none: --gguf with no method")
    parser.add_argument("--push-to-hub", metavar="REPO", type=hub_repo_id,
                        help="push the merged 16-bit model to this Hub repo and the GGUF files to REPO-GGUF "
                        "(token from HF_TOKEN or `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="create the Hub repo private")
    return parser


def app_recipe_source(args: argparse.Namespace, app_dir: Path) -> tuple[Path, list[str]]:
    """The recipe file and overrides an app run uses (reads no recipe and imports no trl).

    With `--demo` the app's `recipe_demo.yaml` (else the training package's CPU demo) is used. Without a GPU,
    the app falls back to the demo only when nothing was asked: no `--recipe`, no `--backend`, no `--cpu` and
    no `--set model.name=...`; the switch is logged with its reason. Anything asked runs as asked (on the CPU:
    with TRL + PEFT), and the model the user named is never swapped. `--backend` becomes a `run.backend`
    override, `--cpu` a `run.backend=trl` one.

    Example:
        >>> args = app_argument_parser("x").parse_args(["--demo", "--backend", "trl"])
        >>> path, overrides = app_recipe_source(args, Path("apps/phi4_gsm8k"))
        >>> path.name, overrides
        ('demo_cpu.yaml', ['run.backend=trl'])
        >>> args = app_argument_parser("x").parse_args(["--cpu", "--set", "model.name=org/m"])
        >>> path, overrides = app_recipe_source(args, Path("apps/phi4_gsm8k"))
        >>> path.name, overrides
        ('recipe.yaml', ['model.name=org/m', 'run.backend=trl'])
    """
    app_dir = Path(app_dir)
    recipe_path = args.recipe or app_dir / RECIPE_FILE
    demo = args.demo
    asked = args.recipe is not None or args.backend is not None or args.cpu or any(
        override.split("=", 1)[0].strip() == "model.name" for override in args.set)
    if not demo and not asked and not cuda_available():
        logger.warning("No CUDA GPU here and nothing asked of this run: %s needs Unsloth on a GPU, so this run "
                       "switches to the CPU demo (embedded SmolLM2-135M-Instruct, synthetic data, demo length). "
                       "Pass --demo to choose it explicitly, or --cpu (--backend trl) to run the recipe on the CPU.",
                       recipe_path)
        demo = True
    if demo and args.recipe is None:
        app_demo = app_dir / DEMO_RECIPE_FILE
        recipe_path = app_demo if app_demo.is_file() else DEMO_RECIPE
    overrides = list(args.set)
    if args.backend or args.cpu:
        overrides.append(f"run.backend={args.backend or 'trl'}")
    return Path(recipe_path), overrides


def app_arguments(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Console logging and the app's parsed command line (see `app_argument_parser`).

    Example:
        >>> app_arguments("x", ["--gguf", "q4_k_m"]).gguf
        ['q4_k_m']
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app_argument_parser(description).parse_args(argv)


def training_command(args: argparse.Namespace, app_dir: Path, result_file: Path) -> list[str]:
    """The `python -m grpo_training train` command line for an app's arguments (reads no recipe).

    With `--resume RUN_DIR` the training process continues the run with its own `recipe.yaml` and only the
    `--set` overrides that are safe mid-run (`grpo_training.run.resume`); `--demo` then changes nothing.

    Example:
        >>> args = app_argument_parser("x").parse_args(["--demo", "--set", "grpo.max_steps=2"])
        >>> training_command(args, Path("apps/phi4_gsm8k"), Path("r.json"))[2:]
        ['grpo_training', 'train', '.../demo_cpu.yaml', '--set', 'grpo.max_steps=2', '--result-file', 'r.json']
    """
    command = [sys.executable, "-m", "grpo_training", "train"]
    if args.resume is not None:
        command += ([str(args.recipe)] if args.recipe else []) + ["--resume", str(args.resume)]
        overrides = list(args.set) + ([f"run.backend={args.backend}"] if args.backend else [])
    else:
        recipe_path, overrides = app_recipe_source(args, app_dir)
        command.append(str(recipe_path))
    for override in overrides:
        command += ["--set", override]
    return command + ["--result-file", str(result_file)]


@dataclass
class TrainedRun:
    """What the training process reported (`python -m grpo_training train --result-file`)."""

    run_dir: Path
    lora_dir: Path
    metrics_path: Path
    curve_path: Path
    eval_path: Path | None
    base_model: str
    card_facts: dict = field(default_factory=dict)

    @staticmethod
    def write(result: Any, recipe: Recipe, path: Path) -> None:
        """Record a finished `run_grpo` result for the app that started this training process."""
        facts = {key: str(getattr(result, key)) for key in ("run_dir", "lora_dir", "metrics_path", "curve_path")}
        facts.update(eval_path=str(result.eval_path) if result.eval_path else None, base_model=base_model_path(recipe),
                     card_facts=model_card_facts(recipe))
        Path(path).write_text(json.dumps(facts), encoding="utf-8")

    @classmethod
    def from_file(cls, path: Path) -> TrainedRun:
        facts = json.loads(Path(path).read_text(encoding="utf-8"))
        paths = {key: Path(facts[key]) for key in ("run_dir", "lora_dir", "metrics_path", "curve_path")}
        return cls(**paths, eval_path=Path(facts["eval_path"]) if facts.get("eval_path") else None,
                   base_model=facts["base_model"], card_facts=facts["card_facts"])


def train_in_fresh_process(args: argparse.Namespace, app_dir: Path) -> TrainedRun:
    """Run an app's training steps (model, LoRA, data, rewards, GRPO, the saved LoRA, evaluation) in a new Python
    process and return what it reported; its output goes straight to the console. A failure raises
    `StageProcessFailed` (the process printed its own `error:` line or traceback); `exits_cleanly` turns that into
    its exit status.

    Example:
        >>> trained = train_in_fresh_process(app_arguments("x", ["--demo"]), Path("apps/phi4_gsm8k"))  # doctest: +SKIP
        >>> trained.lora_dir.name  # doctest: +SKIP
        'lora'
    """
    handle, name = tempfile.mkstemp(prefix="grpo-trained-", suffix=".json")
    os.close(handle)
    result_file = Path(name)
    try:
        returncode = run_in_own_group(training_command(args, Path(app_dir), result_file)).returncode
        if returncode != 0:
            raise StageProcessFailed("training", returncode)
        return TrainedRun.from_file(result_file)
    finally:
        result_file.unlink(missing_ok=True)


def base_model_path(recipe: Recipe) -> str:
    """The base model a run trained on: the recipe's model, or the embedded one's cache folder.

    Example:
        >>> from grpo_training.recipe import Recipe
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
        >>> from grpo_training.recipe import Recipe
        >>> model_card_facts(Recipe())
        {'card_base_model': 'HuggingFaceTB/SmolLM2-135M-Instruct', 'datasets': []}
    """
    from grpo_data.sources import looks_like_local_path

    source = recipe.data.source
    return {"card_base_model": recipe.model.name or EMBEDDED_HUB_ID,
            "datasets": [] if source == "synthetic" or looks_like_local_path(source) else [source]}


def print_run_summary(result: TrainedRun, exported_lines: str = "") -> None:
    """Print where a run's artefacts are, and how to open its SwanLab dashboard."""
    lines = [f"\nRun folder {result.run_dir}", f"  LoRA           {result.lora_dir}"]
    if exported_lines:
        lines.append(exported_lines)
    lines += [f"  reward curve   {result.curve_path}", f"  metrics        {result.metrics_path}",
              f"  evaluation     {result.eval_path}",
              f"  dashboard      hatch run swanlab watch {result.run_dir / 'swanlog'} --host 127.0.0.1 --port 5092"]
    print("\n".join(lines))


@dataclass(frozen=True)
class Step:
    """One step of a tutorial as its app runs it: what it does, and where its values are (a section of the recipe,
    or the app's option that sets them, which starts with "--").

    Example:
        >>> print(Step("add LoRA adapters", "lora").line(2))
          2. add LoRA adapters  (recipe: lora)
    """

    does: str
    values: str

    def line(self, number: int) -> str:
        where = f"option {self.values}" if self.values.startswith("--") else f"recipe: {self.values}"
        return f"  {number}. {self.does}  ({where})"


@dataclass(frozen=True)
class TutorialApp:
    """A tutorial as an app: its `training` steps run in one fresh process (`python -m grpo_training train`, which
    runs them in this order in `grpo_training.run.grpo.run_grpo`), its `export` steps in another (`export`, the
    export package's `export_run_in_fresh_process`, given the run and `export_options`). The values stay in the
    recipe, or in the app's options, where each step says.

    Example:
        >>> app = TutorialApp("Demo.", Path("apps/x"), export=print, training=(Step("load the model", "model"),),
        ...                   exporting=(Step("GGUF", "--gguf"),))
        >>> TutorialApp("Demo.", Path("apps/x"), export=print, training=(Step("load it", "modle"),), exporting=())
        Traceback (most recent call last):
        ...
        ValueError: step 'load it' names 'modle': not a recipe section (data, evaluation, grpo, lora, model, rewards, run) or an app option
    """

    doc: str
    app_dir: Path
    export: Callable[..., Any]
    training: tuple[Step, ...]
    exporting: tuple[Step, ...]
    export_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from grpo_training.recipe import Recipe

        sections = sorted(part.name for part in dataclasses.fields(Recipe) if part.default is dataclasses.MISSING)
        options = {option for action in app_argument_parser(self.doc)._actions for option in action.option_strings}
        for step in (*self.training, *self.exporting):
            if step.values not in sections and step.values not in options:
                raise ValueError(f"step {step.does!r} names {step.values!r}: not a recipe section "
                                 f"({', '.join(sections)}) or an app option")

    def main(self, argv: list[str] | None = None) -> int:
        """Run the app's command line: training, then export, each in a fresh process; print where things are.
        An expected error prints one `error:` line and returns 2 (`grpo_training.clean_errors`)."""
        return exits_cleanly(self._run)(argv)

    def _run(self, argv: list[str] | None) -> int:
        args = app_arguments(self.doc, argv)
        print("Training, in a process of its own (python -m grpo_training train):",
              *(step.line(number) for number, step in enumerate(self.training, 1)), sep="\n", flush=True)
        trained = train_in_fresh_process(args, self.app_dir)
        print("Export, in another fresh process (python -m grpo_export run):",
              *(step.line(number) for number, step in enumerate(self.exporting, len(self.training) + 1)),
              sep="\n", flush=True)
        exported = self.export(trained.run_dir, base_model=trained.base_model, gguf_methods=args.gguf,
                               model_name=self.app_dir.name, push_to=args.push_to_hub, private=args.private,
                               **trained.card_facts, **self.export_options)
        print_run_summary(trained, exported.describe())
        return 0
