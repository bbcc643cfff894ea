"""Export a training run folder: its `lora/` merged into a 16-bit model, GGUF files, and optionally the
Hub, with a model card built from the run's `recipe.yaml` and `eval.json`. The run folder is read as
plain files, so the export package never imports the training package.

Example:
    >>> exported = export_run("runs/phi4_gsm8k", base_model="unsloth/Phi-4", gguf_methods=["q8_0"])  # doctest: +SKIP
    >>> print(exported.describe())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grpo_export.errors import ExportError
from grpo_export.gguf_export import MODEL_NAME, to_gguf
from grpo_export.hub import RUN_CARD_MARK, ModelCardInfo, PushPlan, check_repo_id, load_evaluation_table, push_to_hub
from grpo_export.merge import merge
from grpo_export.output_folders import plain_name
from grpo_export.processes import run_in_own_group

logger = logging.getLogger(__name__)


def card_info_from_run(run_dir: str | Path, *, base_model: str | None, datasets: list[str] | None = None,
                       language: list[str] | None = None) -> ModelCardInfo:
    """Facts for the generated model card of a model trained in `run_dir`: the run's own card (its README.md, the
    one the run wrote: the pushed card carries its sections), the recipe as run, the before/after evaluation
    table, the base model and data sets.

    Example:
        >>> card_info_from_run("/nonexistent", base_model="unsloth/Phi-4").recipe is None
        True
    """
    run_dir = Path(run_dir)
    recipe_file = run_dir / "recipe.yaml"
    eval_file = run_dir / "eval.json"
    card_file = run_dir / "README.md"
    run_card = card_file.read_text(encoding="utf-8") if card_file.is_file() else None
    if run_card is not None and RUN_CARD_MARK not in "\n".join(run_card.splitlines()[:5]):
        run_card = None  # not the run's own card (e.g. TRL's automatic one in an older run folder)
    return ModelCardInfo(
        run_card=run_card,
        base_model=base_model,
        datasets=list(datasets or []),
        language=language,
        recipe=recipe_file.read_text(encoding="utf-8") if recipe_file.is_file() else None,
        evaluation=load_evaluation_table(eval_file) if eval_file.is_file() else [],
    )


@dataclass
class RunExport:
    """What `export_run` wrote (and pushed)."""

    run_dir: Path
    merged_dir: Path
    gguf_files: list[Path] = field(default_factory=list)
    pushed: PushPlan | None = None
    pushed_gguf: PushPlan | None = None

    def describe(self) -> str:
        """One line per artefact, for the end of an app run."""
        lines = [f"  merged 16-bit  {self.merged_dir}"] + [f"  GGUF           {path}" for path in self.gguf_files]
        if self.pushed is not None:
            lines.append(f"  pushed to      {self.pushed.repo_id}")
        if self.pushed_gguf is not None:
            lines.append(f"  GGUF pushed to {self.pushed_gguf.repo_id}")
        return "\n".join(lines)


def export_run(run_dir: str | Path, *, base_model: str, gguf_methods: list[str] | tuple[str, ...] = ("q8_0",),
               model_name: str | None = None, push_to: str | None = None, private: bool = False,
               card_base_model: str | None = None, datasets: list[str] | None = None,
               language: list[str] | None = None, gguf_work_dir: str | Path | None = None) -> RunExport:
    """Merge `<run_dir>/lora` into `base_model` as `<run_dir>/merged_16bit`, convert it to GGUF in
    `<run_dir>/gguf` (no methods: no GGUF), and push the merged model to `push_to` and the GGUF files to
    `<push_to>-GGUF` when given (both repo ids checked before anything is merged). Every
    artefact is verified before it is renamed into place (see `merge` and `to_gguf`).

    Args:
        run_dir: a run folder holding `lora/` (and `recipe.yaml` / `eval.json` for the model card).
        base_model: the base the LoRA was trained on (Hub id or folder).
        gguf_methods: quantisations, e.g. ["q8_0", "q4_k_m"].
        model_name: GGUF file-name stem (default: the run folder's name).
        push_to: Hub repo id for the merged model; the token comes from the environment / login only.
        card_base_model: base model named in the card when `base_model` is a local folder.
        gguf_work_dir: where GGUF's 16-bit intermediate goes (see `to_gguf`; default `$GRPO_EXPORT_WORK_DIR`).

    Example:
        >>> export_run("runs/demo", base_model="HuggingFaceTB/SmolLM2-135M-Instruct", gguf_methods=[])  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    if model_name is not None:
        plain_name(model_name, MODEL_NAME)  # before the merge, which takes minutes
    if push_to:
        check_repo_id(push_to)
        check_repo_id(gguf_repo_id(push_to))
    lora_dir = run_dir / "lora"
    if not (lora_dir / "adapter_config.json").is_file():
        raise ExportError(f"{lora_dir}: no LoRA adapter (adapter_config.json) in this run folder; train first")
    logger.info("Stage: merged 16-bit model")
    merged = merge(base_model, lora_dir, run_dir / "merged_16bit")
    if gguf_methods:
        logger.info("Stage: GGUF %s", " ".join(gguf_methods))
    gguf_files = to_gguf(merged, run_dir / "gguf", list(gguf_methods), model_name=model_name or run_dir.name,
                         work_dir=gguf_work_dir) \
        if gguf_methods else []
    pushed = pushed_gguf = None
    if push_to:
        logger.info("Stage: push to %s", push_to)
        info = card_info_from_run(run_dir, base_model=card_base_model or base_model, datasets=datasets, language=language)
        pushed = push_to_hub(merged, push_to, private=private, card_info=info)
        if gguf_files:
            logger.info("Stage: push GGUF to %s", gguf_repo_id(push_to))
            pushed_gguf = push_to_hub(gguf_files[0].parent, gguf_repo_id(push_to), private=private, card_info=info)
    return RunExport(run_dir=run_dir, merged_dir=merged, gguf_files=gguf_files, pushed=pushed, pushed_gguf=pushed_gguf)


def gguf_repo_id(repo_id: str) -> str:
    """The Hub repo the GGUF files of a run pushed to `repo_id` go to.

    Example:
        >>> gguf_repo_id("me/phi4-gsm8k-grpo")
        'me/phi4-gsm8k-grpo-GGUF'
    """
    return f"{repo_id}-GGUF"


def export_run_in_fresh_process(run_dir: str | Path, *, base_model: str, gguf_methods=("q8_0",),
                                model_name: str | None = None, push_to: str | None = None, private: bool = False,
                                card_base_model: str | None = None, datasets: list[str] | None = None,
                                language: list[str] | None = None) -> RunExport:
    """`export_run` in a new Python process (`python -m grpo_export run`): what the training process still holds
    (the trainer, optimizer state, vLLM's reserved memory, allocator caches) is never beside the export. The
    apps call this after training. The export process, and every tool it starts, ends with the caller
    (`grpo_export.processes.run_in_own_group`). Raises `ExportError` when it fails.

    Example:
        >>> export_run_in_fresh_process("runs/demo", base_model="models/SmolLM2", gguf_methods=[])  # doctest: +SKIP
    """
    command = [sys.executable, "-m", "grpo_export", "-v", "run", str(run_dir), "--base", str(base_model),
               "--gguf", *gguf_methods, "--json"]
    for flag, value in (("--model-name", model_name), ("--push-to", push_to), ("--card-base-model", card_base_model)):
        if value:
            command += [flag, value]
    command += ["--private"] if private else []
    for dataset in datasets or []:
        command += ["--dataset", dataset]
    for code in language or []:
        command += ["--language", code]
    result = run_in_own_group(command, stdout=subprocess.PIPE, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise ExportError(f"Exporting {run_dir} failed (exit {result.returncode}); its messages are above.")
    facts = json.loads(lines[-1])
    pushed = PushPlan(**facts["pushed"]) if facts.get("pushed") else None
    pushed_gguf = PushPlan(**facts["pushed_gguf"]) if facts.get("pushed_gguf") else None
    return RunExport(run_dir=Path(facts["run_dir"]), merged_dir=Path(facts["merged_dir"]),
                     gguf_files=[Path(p) for p in facts["gguf_files"]], pushed=pushed, pushed_gguf=pushed_gguf)
