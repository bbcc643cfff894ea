"""Load a model (and optionally a saved LoRA) for evaluation and generation with transformers + PEFT."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from grpo_training.embedded import embedded_model_path

logger = logging.getLogger(__name__)


def load_for_inference(model: str | None = None, lora: str | Path | None = None) -> tuple[Any, Any, str]:
    """Load a causal LM and its tokenizer, with a LoRA adapter attached when `lora` is given.

    Args:
        model: Hub id or local folder; None = the embedded SmolLM2-135M-Instruct.
        lora: folder written by `save_pretrained` of a PEFT model (holds adapter_config.json).

    Returns:
        (model, tokenizer, model name). With a LoRA the model is a `PeftModel`: use
        `adapter_disabled(model)` to evaluate the base model without loading it twice.

    Example:
        >>> model, tokenizer, name = load_for_inference()  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if lora is not None:
        lora = Path(lora)
        if not (lora / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"--lora {lora}: no adapter_config.json there; point it at the run's lora/ folder "
                "(written by the training run's save step)"
            )
    source = str(model) if model else str(embedded_model_path())
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    if torch.cuda.is_available():
        loaded = loaded.to("cuda")
    if lora is not None:
        from peft import PeftModel

        loaded = PeftModel.from_pretrained(loaded, str(lora))
        logger.info("Loaded LoRA adapter %s on %s", lora, source)
    loaded.eval()
    return loaded, tokenizer, source
