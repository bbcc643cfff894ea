"""The steps of a GRPO run between data and LoRA: load the model (with its LoRA), build the trainer, log the
summary, start SwanLab, and find the checkpoint a resumed run continues from. `grpo_training.run.grpo.run_grpo`
calls them in that order.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from grpo_training import distributed
from grpo_training.model.backends import BackendChoice, build_grpo_trainer, select_backend
from grpo_training.model.backends import load_model as backend_load_model
from grpo_training.run.trainer_checkpoints import (
    CheckpointMarker,
    find_resumable_checkpoint,
    quarantine_incomplete,
    step_of_checkpoint,
)
from grpo_training.recipe.grpo_args import GRPOArgsPlan, plan_grpo_args
from grpo_training.run.hub_inputs import hub_errors_named
from grpo_training.run.model_card import no_trl_card
from grpo_training.run.monitoring import CompletionSampler, MetricsRecorder, ProgressBar, truncate_metrics
from grpo_training.preflight import MemoryPlan, check_memory
from grpo_training.preflight.longest_first import put_longest_first
from grpo_training.prepare import PreparedData, build_reward_funcs
from grpo_training.recipe.secrets import redact_secrets
from grpo_training.recipe import Recipe

logger = logging.getLogger("grpo_training.run")  # the run's logger: these lines belong to the run's log


def load_model(recipe: Recipe, backend: BackendChoice | None = None,
               memory: MemoryPlan | None = None) -> tuple[Any, Any]:
    """The base model with a fresh LoRA adapter, and its tokenizer, on the chosen backend.

    `memory`: the run's memory pre-flight (`grpo_training.preflight.check_memory`); None = run it here, so a
    recipe that cannot fit is refused before loading and vLLM gets the share it chose."""
    backend = backend or select_backend(recipe.run.backend)
    with hub_errors_named("download the model", recipe.model.name):
        memory = memory or check_memory(recipe, backend.name, backend.cuda)
        model, tokenizer = backend_load_model(recipe, backend, memory.vllm_share)
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
    plan = plan_grpo_args(recipe, output_dir=str(run_dir), lengths=prepared.lengths, cuda=backend.cuda, backend=backend.name,
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
    if recipe.run.longest_first:
        put_longest_first(trainer, tokenizer)
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
                       log_dir=str(log_dir), config=redact_secrets(recipe.to_dict()))
    logger.info("SwanLab: mode %s, logs in %s%s", mode, log_dir,
                f" (view: swanlab watch {log_dir})" if mode == "local" else "")
    return run


def resume_checkpoint(run_dir: Path) -> str | None:
    """The newest complete checkpoint of `run_dir` to resume from (optimizer, scheduler, RNG, step), or None to
    start from step 0. Incomplete checkpoints are set aside first, and metrics.jsonl is cut back to the step
    the run resumes from."""
    main = distributed.is_main_process()  # several processes: the main one tidies, then all read
    if main:
        quarantine_incomplete(run_dir)
    distributed.wait_for_everyone()
    checkpoint = find_resumable_checkpoint(run_dir)
    if checkpoint is None:
        logger.info("Resume: no complete checkpoint in %s; starting from step 0", run_dir)
    else:
        logger.info("Resume: from %s (step %d)", checkpoint.name, step_of_checkpoint(checkpoint))
    if main:
        truncate_metrics(run_dir / "metrics.jsonl", step_of_checkpoint(checkpoint) if checkpoint else 0)
    distributed.wait_for_everyone()
    return str(checkpoint) if checkpoint else None
