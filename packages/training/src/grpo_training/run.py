"""A GRPO run: prepare data -> load model -> GRPO -> save LoRA -> verify it trained -> evaluate.

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
        result.json          paths, steps, timings

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
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_training import distributed
from grpo_training.backends import BackendChoice, build_grpo_trainer, save_lora, select_backend
from grpo_training.backends import load_model as backend_load_model
from grpo_training.checkpoints import (
    CheckpointMarker,
    find_resumable_checkpoint,
    quarantine_incomplete,
    step_of_checkpoint,
)
from grpo_training.recipe_loading import dump_recipe
from grpo_training.recipe_sections import Recipe
from grpo_training.grpo_args import GRPOArgsPlan, plan_grpo_args
from grpo_training.model_card import no_trl_card, write_model_card
from grpo_training.monitoring import (
    CompletionSampler,
    MetricsRecorder,
    ProgressBar,
    plot_reward_curve,
    read_metrics,
    truncate_metrics,
)
from grpo_training.prepare import PreparedData, build_reward_funcs, load_prompts, prepare_data, with_prefill
from grpo_training.resume import ResumeError, check_resumed_recipe
from grpo_training.run_folders import reserve_run_folder, timestamp

logger = logging.getLogger("grpo_training.run")


class LoraNotTrainedError(RuntimeError):
    """Every lora_B matrix of the saved adapter is zero: training did not change the model."""


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


# ------------------------------------------------------------------------------------ run folder


def make_run_dir(recipe: Recipe, resume_from: str | Path | None = None) -> Path:
    """The run folder: `resume_from` when resuming, else a new folder `<output_dir>/<name or recipe-timestamp>`.

    The folder is reserved atomically (`grpo_training.run_folders.reserve_run_folder`): a name that is
    already taken, even by a launch a moment ago, gets a timestamp suffix (then a number), so no run is
    ever written over or shared. `recipe.run.name` is set to the folder's name.
    """
    if resume_from is not None:
        run_dir = Path(resume_from)
        if not run_dir.is_dir():
            raise ResumeError(f"--resume {run_dir}: no such run folder")
        return run_dir
    stamp = timestamp()
    name = recipe.run.name
    if not name:
        stem = Path(recipe.source_path).stem if recipe.source_path else "run"
        name = f"{stem}-{stamp}"
    run_dir = reserve_run_folder(recipe.run.output_dir, name, stamp=stamp)
    if run_dir.name != name:
        taken = Path(recipe.run.output_dir) / name
        logger.warning("Run folder %s is already taken (continue a run there with --resume %s); this run writes to %s",
                       taken, taken, run_dir)
    recipe.run.name = run_dir.name
    return run_dir


def make_shared_run_dir(recipe: Recipe, resume_from: str | Path | None = None) -> Path:
    """`make_run_dir` on the main process; every other process gets the same folder and `run.name`.

    (The default name carries a timestamp, and the no-overwrite rule may add one, so processes must
    not each decide.) A plain run calls `make_run_dir` directly.
    """
    if not distributed.is_distributed():
        return make_run_dir(recipe, resume_from)
    decided: tuple[str, str, str] | None = None
    if distributed.is_main_process():
        try:
            run_dir = make_run_dir(recipe, resume_from)
            decided = ("ok", str(run_dir), recipe.run.name or run_dir.name)
        except Exception as error:  # the other processes must hear of it instead of waiting for a folder
            decided = ("error", f"{type(error).__name__}: {error}", "")
            distributed.broadcast_from_main(decided)
            raise
    status, value, name = distributed.broadcast_from_main(decided)
    if status != "ok":
        raise RuntimeError(f"the main process could not make the run folder ({value})")
    recipe.run.name = name
    return Path(value)


def quiet_replica_logging() -> None:
    """On processes other than the main one, show only warnings (the main process logs the run)."""
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(run_dir: Path) -> logging.Handler:
    """Send the toolkit's log (and TRL/transformers warnings) to the console and `<run>/train.log`."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    file_handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    file_handler.setFormatter(formatter)
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        package_logger = logging.getLogger(name)
        package_logger.setLevel(logging.INFO)
        package_logger.addHandler(file_handler)
        console_present = any(type(h) is logging.StreamHandler for h in package_logger.handlers + logging.getLogger().handlers)
        if not console_present:
            console = logging.StreamHandler(sys.stderr)
            console.setFormatter(formatter)
            package_logger.addHandler(console)
    return file_handler


def teardown_logging(handler: logging.Handler) -> None:
    """Detach the run's file handler."""
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


# ------------------------------------------------------------------------------------- steps


def load_model(recipe: Recipe, backend: BackendChoice | None = None) -> tuple[Any, Any]:
    """The base model with a fresh LoRA adapter, and its tokenizer, on the chosen backend."""
    backend = backend or select_backend(recipe.run.backend)
    model, tokenizer = backend_load_model(recipe, backend)
    trainable, total = model.get_nb_trainable_parameters()
    logger.info("Model: %s | trainable parameters %s of %s (%.2f%%)", getattr(model.config, "_name_or_path", "?"),
                f"{trainable:,}", f"{total:,}", 100 * trainable / max(total, 1))
    return model, tokenizer


def build_trainer(
    recipe: Recipe,
    model: Any,
    tokenizer: Any,
    prepared: PreparedData,
    run_dir: Path,
    backend: BackendChoice,
    reward_funcs: list[Any] | None = None,
) -> tuple[Any, GRPOArgsPlan]:
    """GRPOTrainer with the mapped config, our callbacks and the recipe's rewards.

    `tokenizer` should be the prefill tokenizer (`with_prefill`) so generation continues the prefill.
    """
    reward_funcs = reward_funcs or build_reward_funcs(recipe, tokenizer)
    # Weights follow the functions by name; a function the recipe does not list (e.g. one an app adds) weighs 1.
    plan = plan_grpo_args(recipe, output_dir=str(run_dir), max_prompt_length=prepared.max_prompt_length,
                          cuda=backend.cuda, backend=backend.name,
                          reward_names=[getattr(func, "__name__", "") for func in reward_funcs])
    for notice in plan.notices:
        logger.info("Config: %s", notice)
    sampler = CompletionSampler(recipe.run.log_completions_every, recipe.data.prefill)
    callbacks = [
        MetricsRecorder(run_dir / "metrics.jsonl", [func.__name__ for func in reward_funcs]),
        ProgressBar(),
        sampler,
        CheckpointMarker(),
    ]
    # Evaluation during training (tutorial 2's optional eval split): on when the recipe sets grpo.eval_strategy.
    eval_during_training = str(plan.kwargs.get("eval_strategy", "no")) != "no" and prepared.eval is not None
    trainer = build_grpo_trainer(model, tokenizer, plan, backend, reward_funcs=reward_funcs,
                                 train_dataset=prepared.train, callbacks=callbacks,
                                 eval_dataset=prepared.eval if eval_during_training else None)
    sampler.trainer = trainer
    no_trl_card(trainer)  # TRL's card (base "None", no data or evaluation) would land in the run folder
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the per-step table replaces its raw dicts
    return trainer, plan


def log_run_summary(recipe: Recipe, trainer: Any, prepared: PreparedData, backend: BackendChoice) -> None:
    """The start-of-run summary (examples, steps, batch, generations, trainable parameters)."""
    args = trainer.args
    trainable, total = trainer.model.get_nb_trainable_parameters()
    batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    logger.info(
        "Run summary | backend %s | examples %d (held out %d) | steps %d | batch %d = %d per device x %d accumulation "
        "x %d devices | %d generations per prompt -> %d prompts per step | prompt <= %d tokens, completion <= %d tokens "
        "| trainable parameters %s of %s (%.2f%%) | lr %g | beta %g | loss %s",
        backend.name, prepared.train.num_rows, prepared.eval.num_rows if prepared.eval is not None else 0,
        args.max_steps, batch, args.per_device_train_batch_size, args.gradient_accumulation_steps, args.world_size,
        args.num_generations, batch // args.num_generations, prepared.max_prompt_length, args.max_completion_length,
        f"{trainable:,}", f"{total:,}", 100 * trainable / max(total, 1), args.learning_rate, args.beta, args.loss_type,
    )


def start_swanlab(recipe: Recipe, run_dir: Path, report_to: list[str]) -> Any:
    """Start the SwanLab run the Trainer's SwanLab callback will log into (log dir inside the run)."""
    if "swanlab" not in report_to:
        return None
    import swanlab

    mode = {"cloud": "online"}.get(recipe.run.swanlab_mode, recipe.run.swanlab_mode)
    os.environ["SWANLAB_MODE"] = mode
    log_dir = run_dir / "swanlog"
    log_dir.mkdir(exist_ok=True)
    run = swanlab.init(project=recipe.run.swanlab_project, name=recipe.run.name or run_dir.name, mode=mode,
                       log_dir=str(log_dir), config=recipe.to_dict())
    logger.info("SwanLab: mode %s, logs in %s%s", mode, log_dir,
                f" (view: swanlab watch {log_dir})" if mode == "local" else "")
    return run


def train(trainer: Any, run_dir: Path, *, resume: bool = False) -> Any:
    """Train; when resuming, continue from the newest complete checkpoint (optimizer, scheduler, RNG, step)."""
    checkpoint = None
    if resume:
        main = distributed.is_main_process()  # several processes: the main one tidies, then all read
        if main:
            quarantine_incomplete(run_dir)
        distributed.wait_for_everyone()
        checkpoint = find_resumable_checkpoint(run_dir)
        if checkpoint is None:
            logger.info("Resume: no complete checkpoint in %s; starting from step 0", run_dir)
            if main:
                truncate_metrics(run_dir / "metrics.jsonl", 0)
        else:
            step = step_of_checkpoint(checkpoint)
            logger.info("Resume: from %s (step %d)", checkpoint.name, step)
            if main:
                truncate_metrics(run_dir / "metrics.jsonl", step)
        distributed.wait_for_everyone()
    return trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)


def verify_lora_trained(lora_dir: str | Path) -> int:
    """Raise `LoraNotTrainedError` unless some `lora_B` tensor of the saved adapter is non-zero.

    (LoRA initialises B to zero, so an adapter that never received an update is all-zero there;
    the tutorial's own check tested A and B together and could not fail.) Returns the number of
    non-zero lora_B tensors.
    """
    from safetensors import safe_open

    path = Path(lora_dir) / "adapter_model.safetensors"
    if not path.is_file():
        raise LoraNotTrainedError(f"{path} does not exist: the adapter was not saved")
    nonzero = total = 0
    with safe_open(str(path), framework="pt") as tensors:
        for key in tensors.keys():
            if "lora_B" in key:
                total += 1
                nonzero += int(bool(tensors.get_tensor(key).abs().sum() > 0))
    if total == 0:
        raise LoraNotTrainedError(f"{path} holds no lora_B tensors")
    if nonzero == 0:
        raise LoraNotTrainedError(f"all {total} lora_B tensors in {path} are zero: the LoRA did not train "
                                  "(learning rate 0? no steps? rewards constant so every advantage was 0?)")
    logger.info("LoRA check: %d of %d lora_B tensors are non-zero", nonzero, total)
    return nonzero


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
            its recorded one (`grpo_training.resume.load_resume_recipe`), changed only where safe.
        backend: overrides `run.backend` ("auto", "trl", "unsloth").

    Returns:
        `RunResult` with the run folder, adapter, metrics, curve and evaluation reports.
    """
    if distributed.is_distributed():
        distributed.state(int(recipe.grpo.get("ddp_timeout", 1800)))
    main = distributed.is_main_process()
    run_dir = make_shared_run_dir(recipe, resume_from)
    if resume_from is not None and not recipe.run.name:
        recipe.run.name = run_dir.name
    handler = setup_logging(run_dir) if main else None
    if not main:
        quiet_replica_logging()
    swanlab_run = None
    try:
        if resume_from is not None and main:
            check_resumed_recipe(run_dir, recipe)  # before the recorded recipe is rewritten: refuse unsafe changes
        choice = select_backend(backend or recipe.run.backend, import_early=True)
        logger.info("Run folder: %s%s", run_dir, " (resuming)" if resume_from else "")
        if main:
            dump_recipe(recipe, run_dir / "recipe.yaml")
        loaded = load_prompts(recipe)  # before the model: a data source with no usable row fails in seconds
        logger.info("Stage: loading the model (%s backend)", choice.name)
        model, tokenizer = load_model(recipe, choice)
        train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
        prepared = prepare_data(recipe, train_tokenizer, loaded)
        distributed.check_same_rows(prepared.train)
        evaluating = prepared.eval is not None and prepared.eval.num_rows > 0
        if evaluating and distributed.is_distributed() and (recipe.evaluation.before or recipe.evaluation.after):
            if main:
                log_evaluation_skipped(recipe, run_dir, prepared.eval.num_rows)
            evaluating = False
        reports: list[Any] = []
        if evaluating and recipe.evaluation.before:
            # LoRA's B starts at zero, but disabling the adapter makes "before" the base model by construction.
            with model.disable_adapter():
                reports.append(evaluate_model(recipe, model, tokenizer, prepared.eval, "before"))
        trainer, plan = build_trainer(recipe, model, train_tokenizer, prepared, run_dir, choice)
        log_run_summary(recipe, trainer, prepared, choice)
        if main:
            swanlab_run = start_swanlab(recipe, run_dir, plan.kwargs["report_to"])
        logger.info("Stage: GRPO training")
        started = time.perf_counter()
        train(trainer, run_dir, resume=resume_from is not None)
        train_seconds = time.perf_counter() - started
        logger.info("Training: %d steps in %.1f s", trainer.state.global_step, train_seconds)

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


def shutdown_vllm(model: Any) -> None:
    """Stop the vLLM engine Unsloth attached to `model` (its KV-cache reservation is most of the GPU) and drop
    the references to it: best effort for code that goes on in this process. It is not enough to free the GPU:
    on 2026-12-02 (Gemma-3 4B shape, one H200) the process still held 99.5 GiB after it, so the apps train in a
    process of their own and export in another (`grpo_training.app.train_in_fresh_process`)."""
    from grpo_training.evaluation.engines import vllm_engine_holders

    holders = vllm_engine_holders(model)
    if not holders:
        return
    try:
        holders[0].vllm_engine.llm_engine.engine_core.shutdown()
    except Exception as error:  # noqa: BLE001 - a vLLM without this call still frees what gc collects
        logger.info("vLLM engine shutdown: %s", error)
    for holder in holders:
        holder.vllm_engine = None


def release_accelerator_memory() -> None:
    """Collect what the finished run left and return the allocator's cached blocks to the GPU; log what this
    process still holds, so a benchmark can tell whether the next stage starts on a free GPU."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        logger.info("After the run this process holds %.1f GiB of GPU memory (torch: %.1f GiB allocated, "
                    "%.1f GiB reserved)", _process_gpu_gib(), torch.cuda.memory_allocated() / 2**30,
                    torch.cuda.memory_reserved() / 2**30)


def _process_gpu_gib() -> float:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(int(os.environ.get("LOCAL_RANK", 0)))
        return sum(p.usedGpuMemory or 0 for p in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
                   if p.pid == os.getpid()) / 2**30
    except Exception:  # noqa: BLE001 - no NVML: torch's figures say enough
        return float("nan")


def save_trained_lora(trainer: Any, tokenizer: Any, lora_dir: Path) -> Path:
    """Save the trained adapter once: on one process the model saves itself; on several, accelerate gathers
    the weights on every process (sharded under FSDP / ZeRO-3) and the main process writes them."""
    if not distributed.is_distributed():
        return save_lora(trainer.model, tokenizer, lora_dir)
    accelerator = trainer.accelerator
    state_dict = accelerator.get_state_dict(trainer.model_wrapped)  # a collective: every process calls it
    if distributed.is_main_process():
        save_lora(accelerator.unwrap_model(trainer.model), tokenizer, lora_dir, state_dict=state_dict)
    distributed.wait_for_everyone()
    return lora_dir


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
    }
    tmp = result.run_dir / ".result.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, result.run_dir / "result.json")
