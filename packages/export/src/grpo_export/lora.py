"""Save a trained LoRA adapter (PEFT) with its tokenizer, verified, atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from grpo_export.errors import ExportError
from grpo_export.output_folders import check_replaceable, staged_output_dir
from grpo_export.verify import verify_lora_dir

logger = logging.getLogger(__name__)

# vLLM serves LoRA on these module kinds only; anything else in modules_to_save makes it refuse the adapter.
VLLM_MODULES_TO_SAVE = {"embed_tokens", "lm_head"}


def vllm_lora_problems(adapter_config: dict) -> list[str]:
    """Reasons vLLM's `LoRARequest` would reject an adapter with this `adapter_config.json` (empty = fine).

    Example:
        >>> vllm_lora_problems({"peft_type": "LORA", "use_dora": True})
        ['use_dora=True: vLLM serves plain LoRA only']
    """
    problems = []
    if adapter_config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type={adapter_config.get('peft_type')}: vLLM serves LoRA adapters only")
    if adapter_config.get("use_dora"):
        problems.append("use_dora=True: vLLM serves plain LoRA only")
    extra = set(adapter_config.get("modules_to_save") or []) - VLLM_MODULES_TO_SAVE
    if extra:
        problems.append(f"modules_to_save={sorted(extra)}: vLLM supports only {sorted(VLLM_MODULES_TO_SAVE)}")
    return problems


def save_lora(model, tokenizer, out_dir: str | Path, *, overwrite: bool = True) -> Path:
    """Save `model`'s LoRA adapter (safetensors + adapter_config.json) and `tokenizer` into `out_dir`.

    The folder loads with `PeftModel.from_pretrained(base, out_dir)` and with vLLM's
    `LoRARequest(name, 1, out_dir)`. It is written beside `out_dir`, verified (saved tensors equal the
    in-memory adapter), then renamed into place. Equivalent of Unsloth's `model.save_lora(...)`.
    (A training run saves its own `lora/` with `grpo_training.model.backends.save_lora`, which gathers sharded
    weights across processes; training does not import this package.)

    Args:
        model: a `peft.PeftModel` (e.g. `trainer.model` after GRPO training).
        tokenizer: its tokenizer (saved beside the adapter, as the tutorials do).
        out_dir: destination folder.
        overwrite: replace an existing `out_dir` (only after the new one is verified).

    Returns:
        The absolute path of the adapter folder.

    Example:
        >>> save_lora(trainer.model, tokenizer, "grpo_saved_lora")  # doctest: +SKIP
        PosixPath('/.../grpo_saved_lora')
    """
    from peft import PeftModel

    if not isinstance(model, PeftModel):
        raise ExportError(
            f"save_lora needs a peft.PeftModel (a model with a LoRA adapter), got {type(model).__name__}. "
            "For a full model use merge(...) or model.save_pretrained(...)."
        )
    out_dir = Path(out_dir)
    check_replaceable(out_dir.absolute(), "lora")
    with staged_output_dir(out_dir, kind="lora", overwrite=overwrite) as staging:
        model.save_pretrained(str(staging), safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(staging))
        verify_lora_dir(model, staging, adapter_name=model.active_adapter)
        config = json.loads((staging / "adapter_config.json").read_text())
        for problem in vllm_lora_problems(config):
            logger.warning("%s: vLLM will not load this adapter: %s", out_dir, problem)
    return out_dir.absolute()
