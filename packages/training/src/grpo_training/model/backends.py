"""Two backends behind one interface: `unsloth` (CUDA + Unsloth) and `trl` (transformers + PEFT + TRL).

`select_backend` picks one (auto: unsloth when CUDA is available and unsloth importable, else trl)
and logs the choice in one line. Nothing here imports unsloth or vllm unless the unsloth backend
is chosen; Unsloth must be imported before trl to patch it, so scripts call `select_backend(...,
import_early=True)` before importing `grpo_training.run.grpo` (the CLI does).

Example:
    >>> select_backend("trl").name
    'trl'
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grpo_training.model.lora_targets import check_lora_targets, resolve_target_modules

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe
    from grpo_training.recipe.grpo_args import GRPOArgsPlan

logger = logging.getLogger(__name__)


class BackendError(RuntimeError):
    """The requested backend cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class BackendChoice:
    """The backend a run uses and why."""

    name: str
    reason: str
    cuda: bool


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    import torch

    return torch.cuda.is_available()


def select_backend(requested: str = "auto", *, import_early: bool = False, log: bool = True) -> BackendChoice:
    """Choose the backend and log it in one line.

    Args:
        requested: "auto", "trl" or "unsloth" (the `--backend` flag / `run.backend`).
        import_early: import unsloth now when chosen (it must come before trl).
        log: log the choice (the run logs it once, into its own log file).

    Raises:
        BackendError: "unsloth" requested without CUDA or without the unsloth package.
    """
    from grpo_training import distributed

    # `launch --cpu` (ACCELERATE_USE_CPU) trains on CPUs even where a GPU is present.
    cuda = cuda_available() and not distributed.uses_cpu()
    has_unsloth = importlib.util.find_spec("unsloth") is not None
    processes = distributed.world_size()
    facts = f"CUDA {'available' if cuda else 'not available'}, unsloth {'installed' if has_unsloth else 'not installed'}"
    if processes > 1:
        facts += f", {processes} processes"
    if requested == "trl":
        choice = BackendChoice("trl", f"requested; {facts}", cuda)
    elif requested == "unsloth":
        if not cuda or not has_unsloth:
            raise BackendError(f"backend 'unsloth' needs a CUDA GPU and `pip install grpo-training[unsloth]` ({facts}); "
                               "use --backend trl (or auto) here")
        if processes > 1:
            raise BackendError(f"backend 'unsloth' trains on one GPU ({facts}); several GPUs run on the trl backend: "
                               "--backend trl (or auto)")
        choice = BackendChoice("unsloth", f"requested; {facts}", cuda)
    elif requested == "auto":
        name = "unsloth" if cuda and has_unsloth and processes == 1 else "trl"
        choice = BackendChoice(name, f"auto; {facts}", cuda)
    else:
        raise BackendError(f"unknown backend {requested!r}; expected auto, trl or unsloth")
    if log:
        logger.info("Backend: %s (%s)", choice.name, choice.reason)
    if import_early and choice.name == "unsloth":
        if "trl" in sys.modules and "unsloth" not in sys.modules:
            logger.warning("trl was imported before unsloth: some Unsloth patches may not apply")
        import unsloth  # noqa: F401  (patches transformers/trl on import)
    return choice


def resolve_model_name(recipe: Recipe, cuda: bool) -> str:
    """`model.name`, or the embedded SmolLM2-135M-Instruct folder when none is given."""
    if recipe.model.name:
        return recipe.model.name
    from grpo_training.embedded import embedded_model_path

    if cuda:
        logger.warning("model.name is not set: using the embedded SmolLM2-135M-Instruct even though a GPU is present")
    return str(embedded_model_path())


def _torch_dtype(name: str | None, cuda: bool) -> Any:
    import torch

    if name in (None, "auto"):
        return "auto" if cuda else torch.float32
    return getattr(torch, name)


# --------------------------------------------------------------------------------------- trl


def load_model_trl(recipe: Recipe, cuda: bool) -> tuple[Any, Any]:
    """transformers + PEFT: the base model with a fresh LoRA adapter, and its tokenizer."""
    import torch
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = resolve_model_name(recipe, cuda)
    model_kwargs: dict[str, Any] = {"dtype": _torch_dtype(recipe.model.dtype, cuda),
                                    "trust_remote_code": recipe.model.trust_remote_code}
    if recipe.model.load_in_4bit:
        if cuda and importlib.util.find_spec("bitsandbytes") is not None:
            from transformers import BitsAndBytesConfig

            model_kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")
        else:
            logger.info("model.load_in_4bit needs bitsandbytes on a GPU: loading unquantised weights")
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=recipe.model.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(name, **model_kwargs)
    if recipe.lora.gradient_checkpointing:
        model.enable_input_require_grads()
    lora = recipe.lora
    torch.manual_seed(lora.random_state)
    peft_config = PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, peft_config)
    check_lora_targets(model, lora.target_modules)
    return model, tokenizer


def build_trainer_trl(model: Any, tokenizer: Any, plan: GRPOArgsPlan, **trainer_kwargs: Any) -> Any:
    """TRL's GRPOTrainer with our `GRPOSettings` (built from the plan's complete arguments)."""
    from trl import GRPOTrainer

    return GRPOTrainer(model=model, processing_class=tokenizer, args=plan.settings(), **trainer_kwargs)


# ----------------------------------------------------------------------------------- unsloth


def is_multimodal(recipe: Recipe) -> bool:
    """Gemma-3 (4B and up) is multimodal: Unsloth loads it with FastModel."""
    if recipe.model.multimodal is not None:
        return recipe.model.multimodal
    return "gemma-3" in (recipe.model.name or "").lower() and "gemma-3-1b" not in (recipe.model.name or "").lower()


def load_model_unsloth(recipe: Recipe, gpu_memory_utilization: float | None = None) -> tuple[Any, Any]:
    """Unsloth: `FastLanguageModel` (or `FastModel` for Gemma-3) + `get_peft_model`, vLLM when installed.

    `gpu_memory_utilization`: vLLM's share as the memory pre-flight chose it (`grpo_training.preflight`); None = the
    recipe's fraction (with `auto` the caller must pass the pre-flight's choice: `run.steps.load_model` does)."""
    model_cfg, lora = recipe.model, recipe.lora
    if gpu_memory_utilization is None and model_cfg.gpu_memory_utilization == "auto" and model_cfg.fast_inference:
        raise BackendError("model.gpu_memory_utilization is auto: pass the share the memory pre-flight chose "
                           "(`grpo_training.preflight.check_memory(...).vllm_share`)")
    import unsloth  # noqa: F401  (before trl; a no-op when select_backend imported it already)
    from unsloth import FastLanguageModel, FastModel

    if not model_cfg.name:
        raise BackendError("model.name is required on the unsloth backend (the embedded model is for CPUs)")
    fast_inference = model_cfg.fast_inference
    if fast_inference and importlib.util.find_spec("vllm") is None:
        logger.info("model.fast_inference needs vllm (`pip install grpo-training[vllm]`): generating without it")
        fast_inference = False
    load_kwargs: dict[str, Any] = {
        "model_name": model_cfg.name,
        "max_seq_length": model_cfg.max_seq_length,
        "load_in_4bit": model_cfg.load_in_4bit,
        "dtype": None if model_cfg.dtype in (None, "auto") else _torch_dtype(model_cfg.dtype, True),
        "trust_remote_code": model_cfg.trust_remote_code,
    }
    if fast_inference:
        load_kwargs.update(
            fast_inference=True,
            max_lora_rank=model_cfg.max_lora_rank or lora.r,
            gpu_memory_utilization=gpu_memory_utilization or model_cfg.gpu_memory_utilization,
        )
    peft_kwargs: dict[str, Any] = {
        "r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "bias": "none",
        "use_gradient_checkpointing": lora.gradient_checkpointing,
        "random_state": lora.random_state,
    }
    if is_multimodal(recipe):
        model, processor = FastModel.from_pretrained(full_finetuning=False, **load_kwargs)
        multimodal_targets = {"finetune_vision_layers": False, "finetune_language_layers": True,
                              "finetune_attention_modules": True, "finetune_mlp_modules": True}
        if lora.target_modules != "all-linear":
            multimodal_targets["target_modules"] = lora.target_modules
        model = FastModel.get_peft_model(model, **multimodal_targets, **peft_kwargs)
        check_lora_targets(model, lora.target_modules)
        tokenizer = getattr(processor, "tokenizer", processor)  # text-only GRPO: the text tokenizer
    else:
        model, tokenizer = FastLanguageModel.from_pretrained(**load_kwargs)
        target_modules = resolve_target_modules(model, lora.target_modules)
        model = FastLanguageModel.get_peft_model(model, target_modules=target_modules, **peft_kwargs)
        check_lora_targets(model, target_modules)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def vllm_sampling_params(plan: GRPOArgsPlan, tokenizer: Any) -> Any:
    """A vLLM `SamplingParams` from our fields (min_p, top_p, top_k, temperature, vllm_sampling_kwargs)."""
    from vllm import SamplingParams

    kwargs = plan.kwargs
    extra = dict(kwargs.get("vllm_sampling_kwargs") or {})
    if "stop" in extra:
        stops = extra["stop"] if isinstance(extra["stop"], list) else [extra["stop"]]
        extra["stop"] = [tokenizer.eos_token if stop == "{eos_token}" else stop for stop in stops]
    top_k = kwargs.get("top_k", 0)
    params = {
        "temperature": kwargs.get("temperature", 1.0),
        "top_p": kwargs.get("top_p", 1.0),
        "top_k": -1 if not top_k else top_k,  # TRL's "off" is 0, vLLM's is -1
        "min_p": kwargs.get("min_p") or 0.0,
        **extra,
    }
    return SamplingParams(**params)


def build_trainer_unsloth(model: Any, tokenizer: Any, plan: GRPOArgsPlan, **trainer_kwargs: Any) -> Any:
    """Unsloth's patched GRPOConfig/GRPOTrainer (importing trl after unsloth gives the patched classes)."""
    import trl

    config_kwargs = plan.trl_kwargs
    config_kwargs.pop("gradient_checkpointing", None)  # Unsloth's get_peft_model set it up
    if plan.kwargs.get("use_vllm") and importlib.util.find_spec("vllm") is not None:
        config_kwargs["vllm_sampling_params"] = vllm_sampling_params(plan, tokenizer)
    args = trl.GRPOConfig(**config_kwargs)
    return trl.GRPOTrainer(model=model, processing_class=tokenizer, args=args, **trainer_kwargs)


# --------------------------------------------------------------------------------- interface


def load_model(recipe: Recipe, backend: BackendChoice, gpu_memory_utilization: float | None = None) -> tuple[Any, Any]:
    """Load the base model with a fresh LoRA adapter on the chosen backend; returns (model, tokenizer).
    `gpu_memory_utilization`: vLLM's share chosen by the memory pre-flight (unsloth backend)."""
    if backend.name == "unsloth":
        return load_model_unsloth(recipe, gpu_memory_utilization)
    return load_model_trl(recipe, backend.cuda)


def build_grpo_trainer(model: Any, tokenizer: Any, plan: GRPOArgsPlan, backend: BackendChoice, **kwargs: Any) -> Any:
    """The GRPOTrainer of the chosen backend."""
    if backend.name == "unsloth":
        return build_trainer_unsloth(model, tokenizer, plan, **kwargs)
    return build_trainer_trl(model, tokenizer, plan, **kwargs)


def save_lora(model: Any, tokenizer: Any, lora_dir: str | Path, state_dict: dict[str, Any] | None = None) -> Path:
    """Save the adapter (safetensors + config) and tokenizer into `lora_dir`, atomically.

    Written into a temporary sibling folder, then renamed: an interrupted save never leaves a
    half-written `lora/`, and an existing good one is replaced only by a complete one.
    `state_dict`: the full weights gathered by accelerate when they are sharded (FSDP, ZeRO-3);
    PEFT keeps the adapter's tensors from it.

    Not a twin of `grpo_export.save_lora`, which the export package keeps for a standalone export: that one
    also checks the saved tensors against the model, writes an export marker and refuses to replace a folder
    no export wrote, and takes no gathered `state_dict`. This one writes the run's own `lora/` (checked
    afterwards by `grpo_training.run.lora.verify_lora_trained`); training never imports the export package.
    """
    from grpo_data.atomic_files import umask_modes  # here: grpo_data imports datasets, which an app's process need not

    lora_dir = Path(lora_dir)
    lora_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{lora_dir.name}-", dir=lora_dir.parent))
    try:
        extra = {} if state_dict is None else {"state_dict": state_dict}
        model.save_pretrained(staging, safe_serialization=True, **extra)
        tokenizer.save_pretrained(staging)
        umask_modes(staging)  # mkdtemp (0o700) and safetensors (0o600) ignore the umask
        if lora_dir.exists():
            old = lora_dir.with_name(f".{lora_dir.name}-old-{os.getpid()}")
            os.replace(lora_dir, old)
            os.replace(staging, lora_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, lora_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return lora_dir
