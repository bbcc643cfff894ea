"""Merge a LoRA adapter into its base model: `merged_16bit` (CPU or GPU) or `merged_4bit` (GPU only).

The merged weights are computed as W + ΔW in float32, one layer at a time, into a fresh state dict;
the in-memory model is never modified, so a `PeftModel` can still be trained or saved as LoRA after.
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import torch

from grpo_export.errors import ExportError
from grpo_export.logit_check import Calibration, calibrated_check, check_sequences
from grpo_export.logits_by_layer import run_device, streamed_logits
from grpo_export.lora_adapter import LoraAdapter
from grpo_export.merge_by_tensor import check_merged_tensors, merged_tensor, stream_merge
from grpo_export.output_folders import check_replaceable, ensure_free_space, staged_output_dir, write_marker
from grpo_export.safetensors_files import CheckpointReader, resolve_model_folder
from grpo_export.verify import (
    DEFAULT_PROMPTS,
    TOLERANCES,
    check_comparison,
    compare_with_reference,
    free_model,
    make_reference,
)

logger = logging.getLogger(__name__)

MERGE_METHODS = ("merged_16bit", "merged_4bit")
SAVE_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}

MERGED_4BIT_WARNING = (
    "Merging to 4-bit loses accuracy: if you plan to convert this model to GGUF (or anything else) later, "
    "merge to merged_16bit for that instead, and make the 4-bit merge your final step."
)
"""The warning Unsloth gives for `save_method="merged_4bit"`, in our words."""


def _is_bnb_module(module) -> bool:
    return type(module).__module__.startswith("bitsandbytes") and hasattr(module, "weight")


def merged_state_dict(peft_model, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The base model's state dict with the active LoRA adapter merged in (W + ΔW, computed in fp32),
    4-bit/8-bit base weights dequantised, `modules_to_save` copies applied; every tensor on CPU in `dtype`.

    Example:
        >>> state = merged_state_dict(peft_model, torch.bfloat16)  # doctest: +SKIP
        >>> any("lora_" in name for name in state)  # doctest: +SKIP
        False
    """
    from peft.tuners.lora import LoraLayer
    from peft.utils.integrations import dequantize_module_weight

    adapter = peft_model.active_adapter
    base = peft_model.get_base_model()
    merged: dict[str, torch.Tensor] = {}
    handled_prefixes: list[str] = []
    for name, module in base.named_modules():
        if isinstance(module, LoraLayer):
            if getattr(module, "use_dora", {}).get(adapter):
                raise ExportError(f"{name}: DoRA adapters are not supported by merge(); save them with save_lora.")
            base_layer = module.get_base_layer()
            weight = dequantize_module_weight(base_layer).detach().float()
            if adapter in module.lora_A or adapter in getattr(module, "lora_embedding_A", {}):
                weight = weight + module.get_delta_weight(adapter).detach().float()
            merged[f"{name}.weight"] = weight.to(dtype).cpu()
            if getattr(base_layer, "bias", None) is not None:
                merged[f"{name}.bias"] = base_layer.bias.detach().to(dtype).cpu()
            handled_prefixes.append(f"{name}.")
        elif _is_bnb_module(module) and not any(name.startswith(p) for p in handled_prefixes):
            merged[f"{name}.weight"] = dequantize_module_weight(module).detach().to(dtype).cpu()
            if getattr(module, "bias", None) is not None:
                merged[f"{name}.bias"] = module.bias.detach().to(dtype).cpu()
            handled_prefixes.append(f"{name}.")
    converted: dict[int, torch.Tensor] = {}  # keeps tied weights (embed_tokens / lm_head) tied
    for key, tensor in base.state_dict().items():
        if any(key.startswith(p) for p in handled_prefixes) or ".original_module." in key:
            continue
        target_key = key
        if ".modules_to_save." in key:
            head, _, tail = key.partition(".modules_to_save.")
            if not tail.startswith(f"{adapter}."):
                continue
            target_key = f"{head}.{tail[len(adapter) + 1:]}"
        pointer = tensor.data_ptr()
        if pointer not in converted:
            converted[pointer] = tensor.detach().to(dtype).cpu() if tensor.is_floating_point() else tensor.cpu()
        merged[target_key] = converted[pointer]
    return merged


def _load_peft_model(base, lora_dir, dtype: torch.dtype):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, PreTrainedModel

    if isinstance(base, PeftModel):
        if lora_dir is not None:
            raise ExportError("Pass either a PeftModel as `base` (and lora_dir=None) or a base model plus lora_dir.")
        return base
    if lora_dir is None:
        raise ExportError("merge() needs `lora_dir` (a folder written by save_lora) when `base` is not a PeftModel.")
    lora_dir = Path(lora_dir)
    if not (lora_dir / "adapter_config.json").is_file():
        raise ExportError(f"{lora_dir} is not a LoRA adapter folder (no adapter_config.json); save it with save_lora.")
    if isinstance(base, PreTrainedModel):
        model = base
    else:
        load_dtype = torch.float32 if not torch.cuda.is_available() else dtype
        logger.info("Loading base model %s (%s)", base, load_dtype)
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=load_dtype,
                                                     device_map="auto" if torch.cuda.is_available() else None)
    return PeftModel.from_pretrained(model, str(lora_dir))


def _resolve_dtype(model, dtype: str | torch.dtype | None) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is not None:
        if dtype not in SAVE_DTYPES:
            raise ExportError(f"dtype={dtype!r} is not one of {sorted(SAVE_DTYPES)}.")
        return SAVE_DTYPES[dtype]
    configured = getattr(model.config, "dtype", None)
    configured = SAVE_DTYPES.get(configured, configured) if isinstance(configured, str) else configured
    return configured if configured in (torch.float16, torch.bfloat16) else torch.bfloat16


def merge(base, lora_dir: str | Path | None, out_dir: str | Path, method: str = "merged_16bit", *,
          tokenizer=None, dtype: str | torch.dtype | None = None, prompts=DEFAULT_PROMPTS,
          overwrite: bool = True, max_shard_size: str = "5GB") -> Path:
    """Merge base + LoRA into a full model folder (safetensors, config, generation config, tokenizer
    with chat template), verified against base+LoRA on fixed prompts, then renamed into place.

    Args:
        base: a base model folder / Hub id, a loaded `PreTrainedModel`, or a `PeftModel` (then `lora_dir=None`).
        lora_dir: adapter folder written by `save_lora` (None when `base` is a `PeftModel`).
        out_dir: destination folder.
        method: "merged_16bit" (CPU or GPU) or "merged_4bit" (bitsandbytes, CUDA only; warns).
        tokenizer: tokenizer to save beside the weights; default: loaded from `lora_dir` or `base`.
        dtype: "bfloat16" / "float16" ("float32" keeps full precision); default: the model's 16-bit
            dtype, else bfloat16.
        prompts: verification prompts.
        overwrite: replace an existing `out_dir` (only once the new one is verified).

    Returns:
        The absolute path of the merged model folder.

    Raises:
        ExportVerificationError: the reloaded merged model disagrees with base+LoRA.

    Example:
        >>> merge("HuggingFaceTB/SmolLM2-135M-Instruct", "grpo_saved_lora", "model")  # doctest: +SKIP
        PosixPath('/.../model')
        >>> merge(trainer.model, None, "model", tokenizer=tokenizer)  # doctest: +SKIP
    """
    from transformers import AutoTokenizer

    if method not in MERGE_METHODS:
        raise ExportError(f"method={method!r} is not one of {MERGE_METHODS}. For a LoRA folder use save_lora; "
                          "for GGUF use to_gguf on a merged_16bit folder.")
    check_replaceable(Path(out_dir).absolute(), "merged")
    if method == "merged_16bit" and isinstance(base, (str, Path)) and lora_dir is not None:
        base_folder = resolve_model_folder(base)
        if _is_16bit_checkpoint(base_folder):
            return merge_checkpoints(base_folder, lora_dir, out_dir, dtype=dtype, tokenizer=tokenizer,
                                     max_shard_size=max_shard_size)
        logger.warning("%s is not a 16/32-bit safetensors checkpoint (a 4-bit or .bin one?): merging in memory, "
                       "which needs the whole model; merge from the 16-bit base to stream it instead.", base)
    if method == "merged_4bit":
        _check_4bit_available()
        warnings.warn(MERGED_4BIT_WARNING, UserWarning, stacklevel=2)
    peft_model = _load_peft_model(base, lora_dir, torch.bfloat16 if dtype is None else SAVE_DTYPES.get(dtype, dtype))
    save_dtype = _resolve_dtype(peft_model.get_base_model(), dtype)
    if tokenizer is None:
        source = lora_dir if lora_dir is not None and Path(lora_dir, "tokenizer_config.json").is_file() else (
            peft_model.get_base_model().config._name_or_path)
        tokenizer = AutoTokenizer.from_pretrained(str(source))
    out_dir = Path(out_dir)
    n_params = sum(p.numel() for p in peft_model.get_base_model().parameters())
    ensure_free_space(out_dir.parent, n_params * torch.finfo(save_dtype).bits // 8, f"merging into {out_dir}")

    reference = make_reference(peft_model, tokenizer, prompts)
    state = merged_state_dict(peft_model, save_dtype)
    with staged_output_dir(out_dir, kind="merged", overwrite=overwrite) as staging:
        base_model = peft_model.get_base_model()
        config = copy.deepcopy(base_model.config)
        config.dtype = save_dtype
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        base_model.save_pretrained(str(staging), state_dict=state, max_shard_size=max_shard_size)
        config.save_pretrained(str(staging))  # records the saved dtype, drops a 4-bit base's quantisation
        tokenizer.save_pretrained(str(staging))
        del state
        if method == "merged_4bit":
            _requantize_4bit(staging)
            logger.warning("merged_4bit verification: load check only (4-bit weights differ by design).")
        else:
            _verify_merged_folder(staging, reference, save_dtype, next(peft_model.parameters()).device)
    logger.info("Merged model written to %s (%s)", out_dir, save_dtype)
    return out_dir.absolute()


MERGED_CALIBRATION = Calibration(multiple=1.5, floor=1e-5)
"""A merged export's logits may differ from base + LoRA (float32) by 1.5 × what rounding base + LoRA to the
saved dtype does (a correct merge IS that rounding: measured ×1.00), plus float32 arithmetic noise."""


def _is_16bit_checkpoint(folder: Path) -> bool:
    import json

    config = json.loads((folder / "config.json").read_text(encoding="utf-8")) if (folder / "config.json").is_file() else {}
    if "quantization_config" in config or not any(folder.glob("*.safetensors")):
        return False
    return CheckpointReader(folder).floating_dtypes() <= {torch.bfloat16, torch.float16, torch.float32}


def merge_checkpoints(base_folder: str | Path, lora_dir: str | Path, out_dir: str | Path, *,
                      dtype: str | torch.dtype | None = None, tokenizer=None, max_shard_size: str | int = "2GB",
                      device: torch.device | str | None = None) -> Path:
    """Merge the LoRA in `lora_dir` into the 16-bit checkpoint in `base_folder`, streaming tensor by tensor
    (memory: one tensor and one output shard, whatever the model's size), then check it twice before renaming
    it into place: every tensor against base + scaling · B·A (`check_merged_tensors`), and the logits of the
    written folder against base + LoRA in float32 (`MERGED_CALIBRATION`), with layers streamed from disk.

    Example:
        >>> merge_checkpoints("models/phi-4", "runs/x/lora", "runs/x/merged_16bit")  # doctest: +SKIP
        PosixPath('/.../runs/x/merged_16bit')
    """
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig
    from transformers.utils.hub import convert_file_size_to_int

    base_folder, out_dir = Path(base_folder), Path(out_dir)
    adapter = LoraAdapter(lora_dir)
    reader = CheckpointReader(base_folder)
    stored = reader.floating_dtypes()
    if isinstance(dtype, str):
        if dtype not in SAVE_DTYPES:
            raise ExportError(f"dtype={dtype!r} is not one of {sorted(SAVE_DTYPES)}.")
        dtype = SAVE_DTYPES[dtype]
    save_dtype = dtype or (next(iter(stored)) if len(stored) == 1 and stored <= {torch.bfloat16, torch.float16}
                           else torch.bfloat16)
    if tokenizer is None:
        source = lora_dir if Path(lora_dir, "tokenizer_config.json").is_file() else base_folder
        tokenizer = AutoTokenizer.from_pretrained(str(source))
    values = sum(torch.Size(reader.shape(k)).numel() for k in reader.keys())
    ensure_free_space(out_dir.parent, values * torch.finfo(save_dtype).bits // 8, f"merging into {out_dir}")
    with staged_output_dir(out_dir, kind="merged") as staging:
        stream_merge(base_folder, adapter, staging, save_dtype, device=device, max_shard_bytes=convert_file_size_to_int(max_shard_size))
        config = AutoConfig.from_pretrained(str(base_folder))
        config.dtype = save_dtype
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.save_pretrained(str(staging))
        if (base_folder / "generation_config.json").is_file():
            GenerationConfig.from_pretrained(str(base_folder)).save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        tensors = check_merged_tensors(base_folder, adapter, staging, save_dtype, device=device)
        logits = verify_merged_logits(base_folder, adapter, staging, save_dtype, tokenizer, device=device)
        write_marker(staging, checks={"tensors": tensors.summary(), "logits": logits.as_dict()})
    logger.info("Merged model written to %s (%s): %s; %s", out_dir, save_dtype, tensors.summary(), logits.summary())
    return out_dir.absolute()


def verify_merged_logits(base_folder: Path, adapter: LoraAdapter, merged_folder: Path, save_dtype: torch.dtype,
                         tokenizer, *, device: torch.device | str | None = None):
    """The calibrated logit check of a merged folder: its logits (config and weights as written, read the way
    transformers names them) against base + LoRA in float32, allowed `MERGED_CALIBRATION` × the error of
    rounding base + LoRA to `save_dtype`. Three streamed passes; memory: the largest layer.

    Example:
        >>> verify_merged_logits(Path("base"), LoraAdapter("lora"), Path("merged"), torch.bfloat16, tok)  # doctest: +SKIP
    """
    from transformers import AutoConfig

    run_on = run_device(device)
    sequences = check_sequences(tokenizer)
    base = CheckpointReader(base_folder)

    def exact(key: str) -> torch.Tensor:
        return merged_tensor(base.get(key), key, adapter, torch.float32, run_on)

    base_config = AutoConfig.from_pretrained(str(base_folder))
    reference = streamed_logits(base_config, exact, sequences, device=run_on)
    rounded = streamed_logits(base_config, lambda key: exact(key).to(save_dtype), sequences, device=run_on)
    written = streamed_logits(AutoConfig.from_pretrained(str(merged_folder)), CheckpointReader(merged_folder).get,
                              sequences, device=run_on)
    what = f"merged model {merged_folder.name} ({str(save_dtype).removeprefix('torch.')})"
    return calibrated_check(what, written, rounded, reference, MERGED_CALIBRATION)


def _verify_merged_folder(folder: Path, reference, save_dtype: torch.dtype, device: torch.device) -> None:
    from transformers import AutoModelForCausalLM

    on_cpu = device.type == "cpu"
    reloaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32 if on_cpu else save_dtype,
                                                    device_map=None if on_cpu else {"": device})
    try:
        comparison = compare_with_reference(reloaded, reference)
    finally:
        free_model(reloaded)
    key = f"merged_16bit:{str(save_dtype).removeprefix('torch.')}"
    check_comparison(comparison, TOLERANCES[key], f"merged model {folder.name} ({key})")


def _check_4bit_available() -> None:
    if not torch.cuda.is_available():
        raise ExportError(
            "merged_4bit needs bitsandbytes and a CUDA GPU; none is available here. Use method='merged_16bit' "
            "(works on CPU), or run this export on a GPU machine with `pip install grpo-export[bnb]`."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as error:
        raise ExportError("merged_4bit needs bitsandbytes: `pip install grpo-export[bnb]`.") from error


def _requantize_4bit(folder: Path) -> None:
    """Reload the 16-bit merged folder in 4-bit NF4 (bitsandbytes) and save it over itself, then check it loads."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(str(folder), quantization_config=quantization, device_map="auto")
    for shard in list(folder.glob("model*.safetensors")) + list(folder.glob("model*.safetensors.index.json")):
        shard.unlink()
    model.save_pretrained(str(folder))
    free_model(model)
    reloaded = AutoModelForCausalLM.from_pretrained(str(folder), device_map="auto")
    free_model(reloaded)
