"""The trained LoRA: saved once (gathered from every process under `accelerate launch`), then checked to
have trained (every LoRA tensor finite, some `lora_B` tensor non-zero) before anything is evaluated or exported
from it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from grpo_training import distributed
from grpo_training.model.backends import save_lora

logger = logging.getLogger("grpo_training.run")  # the run's logger: these lines belong to the run's log


class LoraNotTrainedError(RuntimeError):
    """The saved adapter is not a trained one: every lora_B matrix is zero (training did not change the model),
    or some LoRA tensor holds NaN or inf (training diverged)."""


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


def verify_lora_trained(lora_dir: str | Path) -> int:
    """Raise `LoraNotTrainedError` unless every LoRA tensor of the saved adapter is finite and some `lora_B`
    tensor is non-zero.

    (LoRA initialises B to zero, so an adapter that never received an update is all-zero there;
    the tutorial's own check tested A and B together and could not fail. A diverged run, e.g. an
    enormous learning rate, leaves NaN or inf values, which are neither zero nor a trained adapter.)
    Returns the number of non-zero lora_B tensors.
    """
    from safetensors import safe_open

    path = Path(lora_dir) / "adapter_model.safetensors"
    if not path.is_file():
        raise LoraNotTrainedError(f"{path} does not exist: the adapter was not saved")
    nonzero = total = lora_tensors = 0
    not_finite: list[str] = []
    with safe_open(str(path), framework="pt") as tensors:
        for key in tensors.keys():
            if "lora_" not in key:
                continue
            tensor = tensors.get_tensor(key)
            lora_tensors += 1
            if not bool(tensor.isfinite().all()):
                not_finite.append(key)
            if "lora_B" in key:
                total += 1
                nonzero += int(bool(tensor.abs().sum() > 0))
    if total == 0:
        raise LoraNotTrainedError(f"{path} holds no lora_B tensors")
    if not_finite:
        raise LoraNotTrainedError(f"{len(not_finite)} of {lora_tensors} LoRA tensors in {path} are not finite (NaN or "
                                  f"inf values, e.g. {not_finite[0]}): training diverged; lower grpo.learning_rate "
                                  "or grpo.beta, or set grpo.max_grad_norm")
    if nonzero == 0:
        raise LoraNotTrainedError(f"all {total} lora_B tensors in {path} are zero: the LoRA did not train "
                                  "(learning rate 0? no steps? rewards constant so every advantage was 0?)")
    logger.info("LoRA check: %d of %d lora_B tensors are non-zero, all %d LoRA tensors finite", nonzero, total,
                lora_tensors)
    return nonzero
