"""Load a model (and optionally a saved LoRA) for evaluation and generation with transformers + PEFT."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import torch

from grpo_training.embedded import embedded_model_path

logger = logging.getLogger(__name__)


class AdapterMismatchError(Exception):
    """A LoRA adapter does not belong to the model it was given: trained on another base, or of other shapes."""


_HUB_CACHE_FOLDER = re.compile(r"^models--(?P<owner>[^/]+?)--(?P<name>[^/]+)$")


def model_identity(model: str) -> str:
    """What names a model, for telling whether two references are the same model: a local folder's resolved path
    (a Hub cache snapshot: its repo id), else the Hub id, case-insensitively.

    Example:
        >>> model_identity("HuggingFaceTB/SmolLM2-135M")
        'huggingfacetb/smollm2-135m'
        >>> model_identity("/hf/hub/models--unsloth--Phi-4/snapshots/0123abc")
        'unsloth/phi-4'
    """
    path = Path(model).expanduser()
    for part in path.parts:
        cached = _HUB_CACHE_FOLDER.match(part)
        if cached:
            return f"{cached['owner']}/{cached['name']}".lower()
    if path.is_dir():
        return str(path.resolve())
    return str(model).lower()


def check_adapter_base(lora: Path, model: str, *, allow_other_base: bool = False) -> None:
    """Refuse a LoRA trained on another base than `model` (its `adapter_config.json` names the base it was
    trained on): with another model of the same shapes PEFT only warns, and the base+LoRA figures would be
    meaningless. `allow_other_base` turns the refusal into a warning.

    Example:
        >>> import tempfile
        >>> lora = Path(tempfile.mkdtemp())
        >>> _ = (lora / "adapter_config.json").write_text('{"base_model_name_or_path": "org/base"}')
        >>> check_adapter_base(lora, "ORG/base")
        >>> check_adapter_base(lora, "org/other")
        Traceback (most recent call last):
        ...
        grpo_training.evaluation.loading.AdapterMismatchError: --lora ... was trained on 'org/base' (base_model_name_or_path in its adapter_config.json), not on the model given, 'org/other'; pass --model org/base (or the folder holding it), or --allow-other-base to apply it to 'org/other' anyway
    """
    config_path = Path(lora) / "adapter_config.json"
    try:
        trained_on = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError) as error:
        raise AdapterMismatchError(f"--lora {lora}: cannot read {config_path.name} ({error}); point --lora at the "
                                   "run's lora/ folder") from error
    if not trained_on or model_identity(trained_on) == model_identity(model):
        return
    message = (f"--lora {lora} was trained on {trained_on!r} (base_model_name_or_path in its {config_path.name}), "
               f"not on the model given, {model!r}")
    if allow_other_base:
        logger.warning("%s; applied anyway (--allow-other-base)", message)
        return
    raise AdapterMismatchError(f"{message}; pass --model {trained_on} (or the folder holding it), or "
                               f"--allow-other-base to apply it to {model!r} anyway")


def load_for_inference(model: str | None = None, lora: str | Path | None = None, *,
                       allow_other_base: bool = False) -> tuple[Any, Any, str]:
    """Load a causal LM and its tokenizer, with a LoRA adapter attached when `lora` is given.

    Args:
        model: Hub id or local folder; None = the embedded SmolLM2-135M-Instruct.
        lora: folder written by `save_pretrained` of a PEFT model (holds adapter_config.json); it must have been
            trained on `model` (`check_adapter_base`) unless `allow_other_base`.

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
    if lora is not None:
        check_adapter_base(lora, source, allow_other_base=allow_other_base)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    if torch.cuda.is_available():
        loaded = loaded.to("cuda")
    if lora is not None:
        from peft import PeftModel

        try:
            loaded = PeftModel.from_pretrained(loaded, str(lora))
        except RuntimeError as error:
            if "size mismatch" not in str(error):
                raise
            first = next((line.strip() for line in str(error).splitlines() if "size mismatch" in line), str(error))
            raise AdapterMismatchError(f"--lora {lora} does not fit {source}: its tensors have other shapes "
                                       f"({first}); evaluate it with the model it was trained on") from error
        logger.info("Loaded LoRA adapter %s on %s", lora, source)
    loaded.eval()
    return loaded, tokenizer, source
