"""grpo_export: export GRPO-trained LoRA adapters as verified LoRA folders, merged models, GGUF files
(llama.cpp's own converter and quantizer) and Hub repos with a model card.

Example:
    >>> from grpo_export import save_lora, merge, to_gguf, push_to_hub  # doctest: +SKIP
    >>> lora = save_lora(trainer.model, tokenizer, "grpo_saved_lora")  # doctest: +SKIP
    >>> merged = merge("microsoft/phi-4", lora, "model")  # doctest: +SKIP
    >>> to_gguf(merged, "model-gguf", ["q4_k_m", "q8_0"])  # doctest: +SKIP
"""

from grpo_export.errors import ExportError, ExportVerificationError, HubPushError, InsufficientDiskSpaceError
from grpo_export.gguf_export import to_gguf, verify_gguf
from grpo_export.hub import ModelCardInfo, build_model_card, push_to_hub
from grpo_export.lora import save_lora
from grpo_export.merge import merge
from grpo_export.verify import verify_lora_dir

__version__ = "0.1.0"

__all__ = [
    "ExportError", "ExportVerificationError", "HubPushError", "InsufficientDiskSpaceError", "ModelCardInfo",
    "build_model_card", "merge", "push_to_hub", "save_lora", "to_gguf", "verify_gguf", "verify_lora_dir",
]
