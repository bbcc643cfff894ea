"""The trained LoRA: saved once (gathered from every process under `accelerate launch`), then checked to
have trained (some `lora_B` tensor non-zero) before anything is evaluated or exported from it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from grpo_training import distributed
from grpo_training.backends import save_lora

logger = logging.getLogger("grpo_training.run")  # the run's logger: these lines belong to the run's log


class LoraNotTrainedError(RuntimeError):
    """Every lora_B matrix of the saved adapter is zero: training did not change the model."""


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
