"""A GRPO run: prepare data -> memory pre-flight -> load model -> evaluate -> learning-signal pre-flight -> GRPO ->
save LoRA -> verify it trained -> evaluate.

Each step is a public function so an app script can read like the tutorial; `run_grpo` does them
all. Everything a run writes lands in one folder:

    <run.output_dir>/<run name>/
        recipe.yaml          the recipe as run (after overrides)
        train.log            the log: summary, notices, per-step table, sampled completions
        metrics.jsonl        one JSON row per logged step
        reward_curve.png     reward (± std) and each reward's mean per step
        checkpoint-N/        Trainer checkpoints (`.grpo_complete` marks the finished ones)
        lora/                the trained adapter (safetensors) + tokenizer
        eval.json            before/after evaluation (when data.eval_rows > 0)
        README.md            the model card: base model, data, evaluation, loading the LoRA, recipe
        swanlog/             SwanLab logs (mode local: `swanlab watch <run>/swanlog`)
        result.json          paths, steps, timings, the pre-flights' memory plan and learning signal

Example:
    >>> from grpo_training import load_recipe, run_grpo  # doctest: +SKIP
    >>> result = run_grpo(load_recipe("demo_cpu.yaml", ["grpo.max_steps=2"]))  # doctest: +SKIP
    >>> result.lora_dir.name  # doctest: +SKIP
    'lora'

Under `accelerate launch` (`python -m grpo_training launch`) every process runs `run_grpo`; only the
main process writes the folder's files and talks to SwanLab, and all of them use the folder it chose
(see `grpo_training.distributed`).
"""


from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_training import distributed
from grpo_training.atomic_files import write_atomically
from grpo_training.model.backends import BackendChoice, select_backend
from grpo_training.run.hub_inputs import check_hub_inputs
from grpo_training.run.model_card import write_model_card
from grpo_training.preflight import check_memory
from grpo_training.preflight.learning_signal import LearningSignal, check_learning_signal
from grpo_training.run.monitoring import plot_reward_curve, read_metrics
from grpo_training.prepare import PreparedData, build_reward_funcs, load_prompts, prepare_data, with_prefill
from grpo_training.recipe_loading import dump_recipe
from grpo_training.recipe_sections import Recipe
from grpo_training.run.resume import check_resumed_recipe
from grpo_training.run.folders import make_run_dir, make_shared_run_dir, release_run_folder
from grpo_training.run.logs import quiet_replica_logging, setup_logging, teardown_logging
from grpo_training.run.memory import release_accelerator_memory, shutdown_vllm
from grpo_training.run.steps import build_trainer, load_model, log_run_summary, start_swanlab, train
from grpo_training.run.lora import LoraNotTrainedError, save_trained_lora, verify_lora_trained

# The steps live in modules of their own; they are imported here by name so that `run_grpo` looks them up in
# this module (a test may replace `run.load_model`).
__all__ = [
    "LoraNotTrainedError", "RunResult", "build_trainer", "evaluate_model", "load_model", "log_evaluation_skipped",
    "log_run_summary", "make_run_dir", "make_shared_run_dir", "quiet_replica_logging", "release_accelerator_memory",
    "run_grpo", "save_trained_lora", "setup_logging", "shutdown_vllm", "start_swanlab", "teardown_logging", "train",
    "verify_lora_trained",
]

logger = logging.getLogger("grpo_training.run")


@dataclass
class RunResult:
    """What a run produced."""

    run_dir: Path
    lora_dir: Path
    metrics_path: Path
    curve_path: Path
    global_step: int
    train_seconds: float
    eval_path: Path | None = None
    eval_reports: list[Any] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    preflight: dict[str, Any] = field(default_factory=dict)  # the pre-flight's findings: "memory_plan", ...


def evaluate_model(recipe: Recipe, model: Any, tokenizer: Any, rows: Any, label: str, lora: str | None = None) -> Any:
    """Evaluate on the held-out rows with `grpo_training.evaluation.evaluate`; `lora` names the adapter
    in the report (None: the base model). Through the model's vLLM engine when it has one (`evaluation.engine`
    auto), serving the adapter saved in `lora`; else transformers' generate on `model` as it is."""
    from grpo_training.evaluation import SamplingSettings, evaluate
    from grpo_training.evaluation.engines import choose_engine

    settings = recipe.evaluation
    sampling = SamplingSettings(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or None,
                                max_new_tokens=settings.max_new_tokens, seed=recipe.run.seed)
    engine = choose_engine(settings.engine, model, tokenizer, settings.batch_size, lora)
    logger.info("Stage: evaluation %s (%s, %d rows)", label, engine.name, len(rows))
    return evaluate(model, tokenizer, rows, task=settings.task, prefix=recipe.data.prefill,
                    target_language=settings.target_language, sampling=sampling,
                    batch_size=settings.batch_size, label=label, model_name=recipe.model.name or "embedded SmolLM2-135M-Instruct",
                    lora=lora, engine=engine)


# ---------------------------------------------------------------------------------- the run


def run_grpo(recipe: Recipe, *, resume_from: str | Path | None = None, backend: str | None = None) -> RunResult:
    """Run a whole recipe: data, model, GRPO, LoRA, check, evaluation, curve.

    Args:
        recipe: from `load_recipe`.
        resume_from: an existing run folder to continue from its newest usable checkpoint; `recipe` must be
            its recorded one (`grpo_training.run.resume.load_resume_recipe`), changed only where safe.
        backend: overrides `run.backend` ("auto", "trl", "unsloth").

    Returns:
        `RunResult` with the run folder, adapter, metrics, curve and evaluation reports.
    """
    if distributed.is_distributed():
        distributed.state(int(recipe.grpo.get("ddp_timeout", 1800)))
    main = distributed.is_main_process()
    check_hub_inputs(recipe)  # a Hub model or data set that cannot be downloaded fails before a run folder exists
    run_dir = make_shared_run_dir(recipe, resume_from)
    if resume_from is not None and not recipe.run.name:
        recipe.run.name = run_dir.name
    handler = setup_logging(run_dir) if main else None
    if not main:
        quiet_replica_logging()
    swanlab_run = None
    try:
        choice = _open_run(recipe, run_dir, resume_from, backend, main)
        loaded = load_prompts(recipe)  # before the model: a data source with no usable row fails in seconds
        memory = check_memory(recipe, choice.name, choice.cuda)  # before the model: a recipe that cannot fit fails here
        logger.info("Stage: loading the model (%s backend)", choice.name)
        model, tokenizer = load_model(recipe, choice, memory)
        train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
        prepared = prepare_data(recipe, train_tokenizer, loaded)
        distributed.check_same_rows(prepared.train)
        evaluating = _evaluating(recipe, run_dir, prepared, main)
        reports: list[Any] = []
        if evaluating and recipe.evaluation.before:
            # LoRA's B starts at zero, but disabling the adapter makes "before" the base model by construction.
            with model.disable_adapter():
                reports.append(evaluate_model(recipe, model, tokenizer, prepared.eval, "before"))
        signal = _learning_signal(recipe, model, train_tokenizer, prepared)  # before the first step
        trainer, plan = build_trainer(recipe, model, train_tokenizer, prepared, run_dir, choice)
        log_run_summary(recipe, trainer, prepared, choice)
        if main:
            swanlab_run = start_swanlab(recipe, run_dir, plan.kwargs["report_to"])
        train_seconds = _timed_training(trainer, run_dir, resume=resume_from is not None)
        result = _finish_run(recipe, trainer, tokenizer, prepared, run_dir, reports, evaluating, train_seconds, main)
        result.preflight["memory_plan"] = memory.to_dict()
        if signal is not None:
            result.preflight["learning_signal"] = signal.to_dict()
        if main:
            _write_result(result, prepared)
        distributed.wait_for_everyone()  # every process returns once the folder is complete
        shutdown_vllm(model)
        trainer = model = None  # nothing of the trainer or the model stays referenced by this frame
        release_accelerator_memory()
        return result
    finally:
        if swanlab_run is not None:
            import swanlab

            swanlab.finish()
        if handler is not None:
            teardown_logging(handler)
        release_run_folder(run_dir)  # locked by make_run_dir while this process trains there


def _open_run(recipe: Recipe, run_dir: Path, resume_from: str | Path | None, backend: str | None,
              main: bool) -> BackendChoice:
    """Check a resumed recipe, choose the backend (importing Unsloth early) and record the recipe as run."""
    if resume_from is not None and main:
        check_resumed_recipe(run_dir, recipe)  # before the recorded recipe is rewritten: refuse unsafe changes
    choice = select_backend(backend or recipe.run.backend, import_early=True)
    logger.info("Run folder: %s%s", run_dir, " (resuming)" if resume_from else "")
    if main:
        dump_recipe(recipe, run_dir / "recipe.yaml")
    return choice


def _evaluating(recipe: Recipe, run_dir: Path, prepared: PreparedData, main: bool) -> bool:
    """Whether the run evaluates before/after: there are held-out rows and a single process."""
    evaluating = prepared.eval is not None and prepared.eval.num_rows > 0
    if evaluating and distributed.is_distributed() and (recipe.evaluation.before or recipe.evaluation.after):
        if main:
            log_evaluation_skipped(recipe, run_dir, prepared.eval.num_rows)
        evaluating = False
    return evaluating


def _learning_signal(recipe: Recipe, model: Any, tokenizer: Any, prepared: PreparedData) -> LearningSignal | None:
    """The learning-signal pre-flight (`grpo_training.preflight.learning_signal`) on one process; several
    processes skip it, as they skip the evaluation (generation on one of them would stall the others)."""
    if distributed.is_distributed():
        logger.info("Learning-signal pre-flight skipped: this run has %d processes", distributed.world_size())
        return None
    return check_learning_signal(recipe, model, tokenizer, prepared, build_reward_funcs(recipe, tokenizer))


def _timed_training(trainer: Any, run_dir: Path, *, resume: bool) -> float:
    """Train (`train`) and log the steps and seconds it took; returns the seconds."""
    logger.info("Stage: GRPO training")
    started = time.perf_counter()
    train(trainer, run_dir, resume=resume)
    train_seconds = time.perf_counter() - started
    logger.info("Training: %d steps in %.1f s", trainer.state.global_step, train_seconds)
    return train_seconds


def _finish_run(recipe: Recipe, trainer: Any, tokenizer: Any, prepared: PreparedData, run_dir: Path,
                reports: list[Any], evaluating: bool, train_seconds: float, main: bool) -> RunResult:
    """Save and check the LoRA; on the main process draw the curve, evaluate after, and write eval.json and the
    model card (`run_grpo` writes result.json). `reports` gets the "after" report."""
    logger.info("Stage: saving and checking the LoRA")
    lora_dir = save_trained_lora(trainer, tokenizer, run_dir / "lora")
    curve = run_dir / "reward_curve.png"
    eval_path = None
    if main:
        logger.info("LoRA saved to %s", lora_dir)
        verify_lora_trained(lora_dir)
        curve = plot_reward_curve(run_dir / "metrics.jsonl", curve, title=f"GRPO reward: {run_dir.name}")
        if evaluating and recipe.evaluation.after:
            reports.append(evaluate_model(recipe, trainer.model, tokenizer, prepared.eval, "after", lora=str(lora_dir)))
        if reports:
            from grpo_training.evaluation import format_eval_table, write_eval_json

            eval_path = run_dir / "eval.json"
            write_eval_json(eval_path, reports)
            logger.info("Evaluation on %d held-out prompts:\n%s", prepared.eval.num_rows, format_eval_table(reports))
    result = RunResult(run_dir=run_dir, lora_dir=lora_dir, metrics_path=run_dir / "metrics.jsonl", curve_path=curve,
                       global_step=trainer.state.global_step, train_seconds=train_seconds, eval_path=eval_path,
                       eval_reports=reports, metrics=read_metrics(run_dir / "metrics.jsonl"))
    if main:
        write_model_card(run_dir, recipe, reports)
    return result


def log_evaluation_skipped(recipe: Recipe, run_dir: Path, rows: int) -> None:
    """Several processes: no before/after evaluation in the run (generation on the main process alone would
    stall the others past their timeout on long evaluations, and FSDP / ZeRO-3 shard the weights it needs)."""
    model = recipe.model.name or "<embedded model>"
    logger.warning(
        "Evaluation before/after skipped: this run has %d processes. Evaluate the saved LoRA on one GPU afterwards, "
        "e.g. python -m grpo_training eval --model %s --lora %s --data %s --loader %s --n %d --task %s --prefix %r "
        "--max-new-tokens %d --out %s",
        distributed.world_size(), model, run_dir / "lora", recipe.data.source, recipe.data.loader, rows,
        recipe.evaluation.task, recipe.data.prefill, recipe.evaluation.max_new_tokens, run_dir / "eval.json")


def _write_result(result: RunResult, prepared: PreparedData) -> None:
    summary = {
        "run_dir": str(result.run_dir),
        "lora_dir": str(result.lora_dir),
        "global_step": result.global_step,
        "train_seconds": round(result.train_seconds, 2),
        "eval_path": str(result.eval_path) if result.eval_path else None,
        "data": prepared.stats,
        **result.preflight,
    }
    write_atomically(result.run_dir / "result.json", json.dumps(summary, indent=2, default=str))
