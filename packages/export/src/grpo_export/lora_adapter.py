"""A saved LoRA adapter read as files: for each base-model tensor, the change the adapter makes to it.

Supports what `save_lora` and the trainers write: LoRA on linear and embedding layers, `lora_alpha / r`
or rsLoRA scaling, per-module `rank_pattern` / `alpha_pattern`, `fan_in_fan_out`, and full copies in
`modules_to_save`. Anything else (DoRA, LoRA biases, other PEFT types) is refused by name.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from grpo_export.errors import ExportError

_PREFIX = "base_model.model."


@dataclass(frozen=True)
class LoraModule:
    """One adapted layer: base tensor `<name>.weight`, its A and B matrices and scaling."""

    name: str
    lora_a: torch.Tensor
    lora_b: torch.Tensor
    scaling: float
    embedding: bool
    fan_in_fan_out: bool

    @property
    def base_key(self) -> str:
        return f"{self.name}.weight"

    def delta(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """ΔW = scaling · B·A in float32, laid out as the base weight (out × in; embeddings: vocab × dim).

        Example:
            >>> module = LoraModule("q", torch.ones(2, 3), torch.ones(4, 2), 0.5, False, False)
            >>> module.delta().shape, float(module.delta()[0, 0])
            (torch.Size([4, 3]), 1.0)
        """
        product = self.lora_b.to(device, torch.float32) @ self.lora_a.to(device, torch.float32)
        if self.embedding or self.fan_in_fan_out:
            product = product.T
        return product * self.scaling


def _pattern_value(patterns: dict, module_name: str, default):
    """PEFT's rule for rank_pattern / alpha_pattern keys: a key matches a module name that ends with it."""
    for pattern, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({pattern})$", module_name):
            return value
    return default


class LoraAdapter:
    """The adapter in `lora_dir` (adapter_config.json + adapter_model.safetensors), held in memory (its
    size is the LoRA's, a few hundred MB at most).

    Example:
        >>> adapter = LoraAdapter("grpo_saved_lora")  # doctest: +SKIP
        >>> adapter.modules["model.layers.0.self_attn.q_proj.weight"].scaling  # doctest: +SKIP
        2.0
    """

    def __init__(self, lora_dir: str | Path):
        self.folder = Path(lora_dir)
        config_path, weights_path = self.folder / "adapter_config.json", self.folder / "adapter_model.safetensors"
        if not config_path.is_file() or not weights_path.is_file():
            raise ExportError(f"{self.folder} is not a LoRA adapter folder (no adapter_config.json or no "
                              "adapter_model.safetensors); save it with save_lora.")
        self.config = json.loads(config_path.read_text(encoding="utf-8"))
        self._refuse_unsupported()
        tensors = load_file(str(weights_path))
        self.modules: dict[str, LoraModule] = {}
        self.replacements: dict[str, torch.Tensor] = {}
        pairs: dict[str, dict[str, torch.Tensor]] = {}
        for key, tensor in tensors.items():
            if not key.startswith(_PREFIX):
                raise ExportError(f"{weights_path}: unexpected tensor name {key} (not a PEFT LoRA adapter?).")
            name = key[len(_PREFIX):]
            match = re.fullmatch(r"(.+)\.(lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?:\.weight)?", name)
            if match:
                pairs.setdefault(match[1], {})[match[2]] = tensor
            else:
                self.replacements[name] = tensor  # a modules_to_save copy, saved under the base name
        for module_name, parts in pairs.items():
            embedding = "lora_embedding_A" in parts
            lora_a = parts.get("lora_embedding_A" if embedding else "lora_A")
            lora_b = parts.get("lora_embedding_B" if embedding else "lora_B")
            if lora_a is None or lora_b is None:
                raise ExportError(f"{weights_path}: {module_name} has only one of its two LoRA matrices.")
            rank = _pattern_value(self.config.get("rank_pattern"), module_name, self.config["r"])
            alpha = _pattern_value(self.config.get("alpha_pattern"), module_name, self.config["lora_alpha"])
            if lora_a.shape[0] != rank:
                raise ExportError(f"{weights_path}: {module_name} has rank {lora_a.shape[0]} but the config says "
                                  f"{rank}.")
            scaling = alpha / math.sqrt(rank) if self.config.get("use_rslora") else alpha / rank
            module = LoraModule(module_name, lora_a, lora_b, scaling, embedding,
                                bool(self.config.get("fan_in_fan_out")))
            self.modules[module.base_key] = module

    def _refuse_unsupported(self) -> None:
        config = self.config
        problems = []
        if config.get("peft_type", "LORA") != "LORA":
            problems.append(f"peft_type={config.get('peft_type')}")
        if config.get("use_dora"):
            problems.append("use_dora=True (DoRA)")
        if config.get("lora_bias"):
            problems.append("lora_bias=True")
        if config.get("trainable_token_indices"):
            problems.append("trainable_token_indices")
        if problems:
            raise ExportError(f"{self.folder}: merging is not supported for {', '.join(problems)}; keep the "
                              "adapter as a LoRA folder (save_lora) instead.")

    def base_model(self) -> str | None:
        """The base model recorded in adapter_config.json."""
        return self.config.get("base_model_name_or_path")
