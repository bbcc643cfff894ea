"""The two ways evaluation generates: transformers' `generate` (any model, batched, left-padded) and vLLM (the
engine Unsloth's `fast_inference=True` attaches to the model, as both tutorials' `model.fast_generate`).

Both take the same rendered prompts as token ids (no special tokens added twice), sample with the same
`SamplingSettings`, and return one `Generated` per prompt, so `evaluate` scores either the same way.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig

from grpo_training.evaluation.sampling import SamplingSettings

logger = logging.getLogger(__name__)

EngineName = Literal["auto", "hf", "vllm"]
ENGINES: tuple[str, ...] = ("auto", "hf", "vllm")
_LORA_REQUEST_IDS = itertools.count(1_000_000)  # above the ids Unsloth's trainer gives its in-memory adapters


@dataclass(frozen=True)
class Generated:
    """One completion: its text (special tokens skipped), its length in tokens and whether it hit the budget."""

    text: str
    tokens: int
    truncated: bool


class HFGenerate:
    """`model.generate` in batches of `batch_size` left-padded prompts; the model is evaluated as it is (a PEFT
    model with its adapter on; wrap it in `adapter_disabled` for the base).

    Example:
        >>> engine = HFGenerate(model, tokenizer, batch_size=16)  # doctest: +SKIP
        >>> engine.generate([[1, 2, 3]], SamplingSettings(max_new_tokens=8))[0].tokens  # doctest: +SKIP
        8
    """

    name = "hf-generate"

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (e.g. to its EOS) before evaluating")
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size

    def generate(self, prompts: Sequence[list[int]], sampling: SamplingSettings, label: str = "") -> list[Generated]:
        model, tokenizer = self.model, self.tokenizer
        config = GenerationConfig(**sampling.generate_kwargs(), eos_token_id=model.generation_config.eos_token_id,
                                  pad_token_id=tokenizer.pad_token_id)
        end_ids = _as_set(config.eos_token_id) | {tokenizer.pad_token_id}
        results: list[Generated] = []
        was_training = model.training
        model.eval()
        torch.manual_seed(sampling.seed)
        previous_side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            with torch.inference_mode():
                for start in tqdm(range(0, len(prompts), self.batch_size), desc=f"eval {label}", unit="batch"):
                    batch = [{"input_ids": ids} for ids in prompts[start : start + self.batch_size]]
                    encoded = tokenizer.pad(batch, return_tensors="pt")
                    encoded = {key: value.to(model.device) for key, value in encoded.items()}
                    output = model.generate(**encoded, generation_config=config)
                    for tokens in output[:, encoded["input_ids"].shape[1] :].tolist():
                        length = next((i for i, token in enumerate(tokens) if token in end_ids), None)
                        kept = tokens if length is None else tokens[:length]
                        results.append(Generated(tokenizer.decode(kept, skip_special_tokens=True), len(kept),
                                                 length is None))
        finally:
            tokenizer.padding_side = previous_side
            model.train(was_training)
        return results


class VLLMGenerate:
    """The model's vLLM engine (`model.vllm_engine`, attached by Unsloth's `fast_inference=True`), all prompts in
    one call; `lora_dir` (a saved PEFT adapter folder) is served through a LoRA request, as the tutorials'
    `model.fast_generate(..., lora_request=model.load_lora("grpo_saved_lora"))`; None generates with the base.

    The adapter is read from `lora_dir` under a request id no earlier request used, so vLLM serves exactly the
    saved files, never an adapter it cached from training.

    Example:
        >>> engine = VLLMGenerate(model, lora_dir="runs/r1/lora")  # doctest: +SKIP
        >>> engine.generate([[1, 2, 3]], SamplingSettings(max_new_tokens=8))[0].tokens  # doctest: +SKIP
        8
    """

    name = "vllm"

    def __init__(self, model: Any, lora_dir: str | Path | None = None) -> None:
        self.llm = vllm_engine_of(model)
        if self.llm is None:
            raise ValueError("this model has no vLLM engine (load it with model.fast_inference: true and vllm "
                             "installed), or evaluate with evaluation.engine: hf")
        self.model = model
        self.lora_dir = None if lora_dir is None else Path(lora_dir)
        if self.lora_dir is not None and not (self.lora_dir / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{self.lora_dir} has no adapter_config.json: give the folder the LoRA was "
                                    "saved to (<run>/lora)")

    def lora_request(self) -> Any:
        """A LoRA request for `lora_dir` (None for the base model), through Unsloth's checks when it has them."""
        if self.lora_dir is None:
            return None
        request_id = next(_LORA_REQUEST_IDS)
        load_lora = getattr(self.model, "load_lora", None)
        if load_lora is not None:
            return load_lora(str(self.lora_dir), lora_request_id=request_id)
        from vllm.lora.request import LoRARequest

        return LoRARequest(f"eval-{request_id}", request_id, str(self.lora_dir))

    def generate(self, prompts: Sequence[list[int]], sampling: SamplingSettings, label: str = "") -> list[Generated]:
        from vllm import SamplingParams

        room = self.max_model_len() - max(len(ids) for ids in prompts)
        if room < sampling.max_new_tokens:
            logger.warning("eval %s: vLLM's max_model_len leaves %d new tokens for the longest prompt, not "
                           "max_new_tokens=%d; longer answers end there (model.max_seq_length sets the length)",
                           label, room, sampling.max_new_tokens)
        params = SamplingParams(**vllm_sampling_kwargs(sampling))
        outputs = self.llm.generate([{"prompt_token_ids": list(ids)} for ids in prompts], sampling_params=params,
                                    lora_request=self.lora_request(), use_tqdm=True)
        return [Generated(out.outputs[0].text, len(out.outputs[0].token_ids), out.outputs[0].finish_reason == "length")
                for out in outputs]

    def max_model_len(self) -> int:
        return int(self.llm.llm_engine.model_config.max_model_len)


def vllm_sampling_kwargs(sampling: SamplingSettings) -> dict[str, Any]:
    """vLLM `SamplingParams` keyword arguments meaning what `sampling.generate_kwargs()` means to transformers:
    every filter explicit, "off" spelt as vLLM spells it, one completion per prompt, the seed per request.

    Example:
        >>> vllm_sampling_kwargs(SamplingSettings(temperature=1.0, top_p=None, top_k=50, max_new_tokens=2048))
        {'n': 1, 'temperature': 1.0, 'top_p': 1.0, 'top_k': 50, 'min_p': 0.0, 'max_tokens': 2048, 'seed': 3407}
    """
    return {
        "n": 1,
        "temperature": sampling.temperature,
        "top_p": 1.0 if sampling.top_p is None or sampling.temperature == 0 else sampling.top_p,
        "top_k": 0 if sampling.top_k is None or sampling.temperature == 0 else sampling.top_k,  # vLLM 0.26: 0 = off
        "min_p": 0.0 if sampling.min_p is None or sampling.temperature == 0 else sampling.min_p,
        "max_tokens": sampling.max_new_tokens,
        "seed": sampling.seed,
    }


def vllm_engine_of(model: Any) -> Any | None:
    """The vLLM engine Unsloth attached to `model` (or to the model a PEFT wrapper holds); None without one.

    Example:
        >>> vllm_engine_of(object()) is None
        True
    """
    return next((holder.vllm_engine for holder in vllm_engine_holders(model)), None)


def vllm_engine_holders(model: Any) -> list[Any]:
    """The objects carrying a `vllm_engine`: the model, or the models a PEFT wrapper holds (Unsloth sets it on each).

    Example:
        >>> vllm_engine_holders(object())
        []
    """
    base = getattr(model, "base_model", None)
    return [holder for holder in (model, base, getattr(base, "model", None))
            if holder is not None and getattr(holder, "vllm_engine", None) is not None]


def choose_engine(requested: str, model: Any, tokenizer: Any, batch_size: int, lora_dir: str | Path | None) -> Any:
    """The engine `evaluation.engine` asks for: "vllm" (an error without one), "hf", or "auto" = vLLM when the
    model carries an engine, else transformers' generate.

    Example:
        >>> choose_engine("auto", model, tokenizer, 16, None).name  # doctest: +SKIP
        'hf-generate'
    """
    if requested not in ENGINES:
        raise ValueError(f"evaluation.engine must be one of {ENGINES}, got {requested!r}")
    if requested == "vllm" or (requested == "auto" and vllm_engine_of(model) is not None):
        return VLLMGenerate(model, lora_dir)
    return HFGenerate(model, tokenizer, batch_size)


def _as_set(ids: int | Sequence[int] | None) -> set[int]:
    if ids is None:
        return set()
    return {ids} if isinstance(ids, int) else set(ids)
