"""A GRPO run, in the order the tutorials take it: data -> model (with its LoRA) -> rewards -> trainer -> train ->
LoRA (saved and checked) -> evaluation without and with the LoRA. `run_grpo` reads top to bottom in that order;
the pre-flights sit where they save the most time (the data and the memory plan before the model loads, the
learning signal before the first step). Everything a run writes lands in one folder:

    <run.output_dir>/<run name>/
        recipe.yaml          the recipe as run (after overrides)
        train.log            the log: summary, notices, per-step table, sampled completions
        metrics.jsonl        one JSON row per logged step
        reward_curve.png     reward (± std) and each reward's mean per step
        checkpoint-N/        Trainer checkpoints (`.grpo_complete` marks the finished ones)
        lora/                the trained adapter (safetensors) + tokenizer
        eval.json            evaluation without/with the LoRA (when data.eval_rows > 0)
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

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_data.atomic_files import write_atomically
from grpo_training import distributed
from grpo_training.model.backends import BackendChoice, select_backend
from grpo_training.preflight import MemoryPlan, check_memory
from grpo_training.preflight.learning_signal import check_learning_signal
from grpo_training.prepare import PreparedData, build_reward_funcs, load_prompts, prepare_data, with_prefill
from grpo_training.recipe import Recipe, dump_recipe
from grpo_training.run.folders import make_shared_run_dir, release_run_folder
from grpo_training.run.hub_inputs import check_hub_inputs
from grpo_training.run.logs import quiet_replica_logging, setup_logging, teardown_logging
from grpo_training.run.lora import save_trained_lora, verify_lora_trained
from grpo_training.run.memory import release_accelerator_memory, shutdown_vllm
from grpo_training.run.model_card import write_model_card
from grpo_training.run.monitoring import plot_reward_curve, read_metrics
from grpo_training.run.resume import check_resumed_recipe
from grpo_training.run.steps import build_trainer, load_model, log_run_summary, resume_checkpoint, start_swanlab

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
    preflight: dict[str, Any] = field(default_factory=dict)  # the pre-flights' findings: "memory_plan", ...


def run_grpo(recipe: Recipe, *, resume_from: str | Path | None = None, backend: str | None = None) -> RunResult:
    """Run a whole recipe: data, model, rewards, trainer, training, LoRA, evaluation.

    Args:
        recipe: from `load_recipe`.
        resume_from: an existing run folder to continue from its newest usable checkpoint; `recipe` must be
            its recorded one (`grpo_training.run.resume.load_resume_recipe`), changed only where safe.
        backend: overrides `run.backend` ("auto", "trl", "unsloth").

    Returns:
        `RunResult` with the run folder, adapter, metrics, curve and evaluation reports.
    """
    check_hub_inputs(recipe)  # a Hub model or data set that cannot be downloaded fails before a run folder exists
    with _run_folder(recipe, resume_from) as (run_dir, on_exit):
        choice = _open_run(recipe, run_dir, resume_from, backend)

        # data: read before the model, so a source with no usable row fails in seconds
        prompts = load_prompts(recipe)

        # model: the memory pre-flight refuses a recipe that cannot fit; then the base model with a fresh LoRA
        memory = check_memory(recipe, choice.name, choice.cuda)
        logger.info("Stage: loading the model (%s backend)", choice.name)
        model, tokenizer = load_model(recipe, choice, memory)
        train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)  # generation continues after the prefill
        data = prepare_data(recipe, train_tokenizer, prompts)
        distributed.check_same_rows(data.train)

        # rewards, and whether they tell this model's completions apart before any step is spent
        reward_funcs = build_reward_funcs(recipe, train_tokenizer)
        signal = _learning_signal(recipe, model, train_tokenizer, data, reward_funcs)

        # trainer
        trainer, plan = build_trainer(recipe, model, train_tokenizer, data, run_dir, choice, reward_funcs)
        log_run_summary(recipe, trainer, data, choice)
        if distributed.is_main_process() and start_swanlab(recipe, run_dir, plan.kwargs["report_to"]) is not None:
            on_exit.callback(_finish_swanlab)

        # train (resumed: from the newest complete checkpoint)
        checkpoint = resume_checkpoint(run_dir) if resume_from is not None else None
        logger.info("Stage: GRPO training")
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=checkpoint)
        train_seconds = time.perf_counter() - started
        logger.info("Training: %d steps in %.1f s", trainer.state.global_step, train_seconds)

        # LoRA: saved, then checked to have trained
        lora_dir = _save_and_check_lora(trainer, tokenizer, run_dir)

        # evaluation on the held-out rows, without and with the LoRA (the tutorials' comparison)
        reports = _evaluate(recipe, trainer.model, tokenizer, data, run_dir, lora_dir)

        result = RunResult(run_dir=run_dir, lora_dir=lora_dir, metrics_path=run_dir / "metrics.jsonl",
                           curve_path=run_dir / "reward_curve.png", global_step=trainer.state.global_step,
                           train_seconds=train_seconds, eval_reports=reports,
                           preflight=_preflight_findings(memory, signal))
        _write_run_files(result, recipe, data)
        distributed.wait_for_everyone()  # every process returns once the folder is complete
        shutdown_vllm(model)
        trainer = model = None  # nothing of the trainer or the model stays referenced by this frame
        release_accelerator_memory()
        return result


@contextlib.contextmanager
def _run_folder(recipe: Recipe, resume_from: str | Path | None) -> Iterator[tuple[Path, contextlib.ExitStack]]:
    """The run's folder (reserved and locked by the main process, shared by all) with its log; `on_exit` takes
    what must end with the run (SwanLab). The log is detached and the lock released however the run ends."""
    if distributed.is_distributed():
        distributed.state(int(recipe.grpo.get("ddp_timeout", 1800)))
    run_dir = make_shared_run_dir(recipe, resume_from)
    if resume_from is not None and not recipe.run.name:
        recipe.run.name = run_dir.name
    handler = setup_logging(run_dir) if distributed.is_main_process() else None
    if handler is None:
        quiet_replica_logging()
    try:
        with contextlib.ExitStack() as on_exit:
            yield run_dir, on_exit
    finally:
        if handler is not None:
            teardown_logging(handler)
        release_run_folder(run_dir)  # locked by make_run_dir while this process trains there


def _open_run(recipe: Recipe, run_dir: Path, resume_from: str | Path | None, backend: str | None) -> BackendChoice:
    """Check a resumed recipe, choose the backend (importing Unsloth early) and record the recipe as run."""
    main = distributed.is_main_process()
    if resume_from is not None and main:
        check_resumed_recipe(run_dir, recipe)  # before the recorded recipe is rewritten: refuse unsafe changes
    choice = select_backend(backend or recipe.run.backend, import_early=True)
    logger.info("Run folder: %s%s", run_dir, " (resuming)" if resume_from else "")
    if main:
        dump_recipe(recipe, run_dir / "recipe.yaml")
    return choice


def _learning_signal(recipe: Recipe, model: Any, tokenizer: Any, data: PreparedData, reward_funcs: list[Any]) -> Any:
    """The learning-signal pre-flight (`grpo_training.preflight.learning_signal`) on one process; several
    processes skip it, as they skip the evaluation (generation on one of them would stall the others)."""
    if distributed.is_distributed():
        logger.info("Learning-signal pre-flight skipped: this run has %d processes", distributed.world_size())
        return None
    return check_learning_signal(recipe, model, tokenizer, data, reward_funcs)


def _finish_swanlab() -> None:
    import swanlab

    swanlab.finish()


def _save_and_check_lora(trainer: Any, tokenizer: Any, run_dir: Path) -> Path:
    """Save the adapter (gathered from every process) and, on the main process, check it trained."""
    logger.info("Stage: saving and checking the LoRA")
    lora_dir = save_trained_lora(trainer, tokenizer, run_dir / "lora")
    if distributed.is_main_process():
        logger.info("LoRA saved to %s", lora_dir)
        verify_lora_trained(lora_dir)
    return lora_dir


def _evaluate(recipe: Recipe, model: Any, tokenizer: Any, data: PreparedData, run_dir: Path, lora_dir: Path) -> list:
    """The reports without ("before") and with ("after") the LoRA, as the recipe's `evaluation` asks; none when
    there are no held-out rows or the run has several processes (then the log says how to evaluate afterwards)."""
    if data.eval is None or data.eval.num_rows == 0 or not distributed.is_main_process():
        return []
    if distributed.is_distributed():
        if recipe.evaluation.before or recipe.evaluation.after:
            log_evaluation_skipped(recipe, run_dir, data.eval.num_rows)
        return []
    reports = []
    if recipe.evaluation.before:
        # LoRA's B starts at zero, but disabling the adapter makes "before" the base model by construction.
        with model.disable_adapter():
            reports.append(evaluate_model(recipe, model, tokenizer, data.eval, "before"))
    if recipe.evaluation.after:
        reports.append(evaluate_model(recipe, model, tokenizer, data.eval, "after", lora=str(lora_dir)))
    return reports


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


def _preflight_findings(memory: MemoryPlan, signal: Any) -> dict[str, Any]:
    findings: dict[str, Any] = {"memory_plan": memory.to_dict()}
    if signal is not None:
        findings["learning_signal"] = signal.to_dict()
    return findings


def _write_run_files(result: RunResult, recipe: Recipe, data: PreparedData) -> None:
    """On the main process: the reward curve, eval.json, the model card and result.json."""
    result.metrics = read_metrics(result.metrics_path)
    if not distributed.is_main_process():
        return
    plot_reward_curve(result.metrics_path, result.curve_path, title=f"GRPO reward: {result.run_dir.name}")
    if result.eval_reports:
        from grpo_training.evaluation import format_eval_table, write_eval_json

        result.eval_path = result.run_dir / "eval.json"
        write_eval_json(result.eval_path, result.eval_reports)
        logger.info("Evaluation on %d held-out prompts:\n%s", data.eval.num_rows, format_eval_table(result.eval_reports))
    write_model_card(result.run_dir, recipe, result.eval_reports)
    summary = {
        "run_dir": str(result.run_dir),
        "lora_dir": str(result.lora_dir),
        "global_step": result.global_step,
        "train_seconds": round(result.train_seconds, 2),
        "eval_path": str(result.eval_path) if result.eval_path else None,
        "data": data.stats,
        **result.preflight,
    }
    write_atomically(result.run_dir / "result.json", json.dumps(summary, indent=2, default=str))


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
