"""The run folder's README.md: the toolkit's own model card, written once the run is over.

TRL's GRPOTrainer writes its automatic card into the output folder (the run folder) at every checkpoint
(`_save_checkpoint` -> `create_model_card`), and knows neither the base model (a local folder comes out as
"fine-tuned version of [None](https://huggingface.co/None)") nor the data or the evaluation. `no_trl_card`
stops it; `write_model_card` writes the toolkit's card after training and evaluation: base model, data,
before/after evaluation, how to load the LoRA, and the recipe as run.

Example:
    >>> import tempfile
    >>> from grpo_training.recipe import Recipe
    >>> run = Path(tempfile.mkdtemp())
    >>> card = write_model_card(run, Recipe(), [])
    >>> "embedded SmolLM2-135M-Instruct" in card.read_text()
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grpo_data.atomic_files import write_atomically
from grpo_training.recipe import Recipe
from grpo_training.recipe.secrets import redact_secrets, redact_text

TOOLKIT = "grpo-toolkit"
EMBEDDED_BASE = "embedded SmolLM2-135M-Instruct"


def no_trl_card(trainer: Any) -> Any:
    """Stop `trainer` (TRL's GRPOTrainer, or Unsloth's subclass) from writing its automatic README.md into
    the run folder; the run writes its own (`write_model_card`). Returns the trainer."""
    trainer.create_model_card = _skip_card
    return trainer


def _skip_card(*args: Any, **kwargs: Any) -> None:
    return None


def model_card(run_dir: Path, recipe: Recipe, reports: Sequence[Any] = ()) -> str:
    """The card's Markdown for the run in `run_dir` (its `recipe.yaml` if present, else `recipe` as given)."""
    run_dir = Path(run_dir)
    base = recipe.model.name or EMBEDDED_BASE
    lora = run_dir / "lora"
    recipe_file = run_dir / "recipe.yaml"
    if recipe_file.is_file():
        recipe_text = recipe_file.read_text(encoding="utf-8")
    else:
        import yaml

        recipe_text = yaml.safe_dump(redact_secrets(recipe.to_dict()), sort_keys=False, allow_unicode=True)
    data = recipe.data
    lines = [
        f"# {run_dir.name}",
        "",
        f"A LoRA adapter trained with GRPO by {TOOLKIT} (`python -m grpo_training`).",
        "",
        "## Base model",
        "",
        f"- {base}" + ("" if recipe.model.name else " (the toolkit's built-in model: "
                       "`grpo_training.embedded.embedded_model_path()`)"),
        "",
        "## Data",
        "",
        f"- loader: {data.loader}",
        f"- source: {data.source}",
        f"- config: {data.config or 'default'}",
        f"- held-out evaluation rows: {data.eval_rows}",
        "",
        "## Evaluation",
        "",
    ]
    if reports:
        from grpo_training.evaluation import format_eval_table

        heading, _, table = format_eval_table(list(reports)).partition("\n")
        # A blank line between the sentence and the table, or Markdown reads the table as the same paragraph.
        lines += [heading, "", table, "", "Details: `eval.json`.", ""]
    else:
        lines += ["No before/after evaluation ran in this run.", ""]
    load_base = (f'AutoModelForCausalLM.from_pretrained("{recipe.model.name}")' if recipe.model.name else
                 "AutoModelForCausalLM.from_pretrained(embedded_model_path())")
    lines += [
        "## Loading the LoRA",
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        *([] if recipe.model.name else ["from grpo_training.embedded import embedded_model_path"]),
        "",
        f"base = {load_base}",
        f'tokenizer = AutoTokenizer.from_pretrained("{lora}")',
        f'model = PeftModel.from_pretrained(base, "{lora}")',
        "```",
        "",
        "## Recipe (as run)",
        "",
        "```yaml",
        recipe_text.rstrip("\n"),
        "```",
        "",
        f"Written by {TOOLKIT}.",
        "",
    ]
    return redact_text("\n".join(lines))  # a secret never reaches a card that --push-to uploads


def write_model_card(run_dir: str | Path, recipe: Recipe, reports: Sequence[Any] = ()) -> Path:
    """Write `model_card(...)` to `<run_dir>/README.md` atomically (`write_atomically`); returns its path."""
    run_dir = Path(run_dir)
    return write_atomically(run_dir / "README.md", model_card(run_dir, recipe, reports))
