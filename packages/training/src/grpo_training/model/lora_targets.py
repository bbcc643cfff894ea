"""Check that every module name in `lora.target_modules` got a LoRA adapter.

PEFT refuses a target list only when *no* name matches; when some match, the rest are dropped
silently. That bites across architectures that share a checkpoint name: `unsloth/Phi-4` is
Llama-shaped (`gate_proj`, `up_proj`, `down_proj`), `microsoft/phi-4` is Phi-3-shaped (fused
`qkv_proj` and `gate_up_proj`), so tutorial 1's targets on the latter would train `down_proj` alone.

Example:
    >>> from torch import nn
    >>> class Block(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.gate_up_proj, self.down_proj = nn.Linear(4, 8), nn.Linear(4, 4)
    >>> sorted(linear_module_names(Block()))
    ['down_proj', 'gate_up_proj']
"""

from __future__ import annotations

from typing import Any


class LoraTargetError(ValueError):
    """Some `lora.target_modules` names match no layer of the model; the message lists the ones it has."""


def linear_module_names(model: Any) -> set[str]:
    """The last name component of every linear layer of the base model (bitsandbytes' 4-bit layers included),
    `lm_head` excepted. Inside a PEFT model a wrapped layer's own linear is `<name>.base_layer` and the
    adapter's are `<name>.lora_A.default`: those count as `<name>` and not at all."""
    from torch import nn

    names = set()
    for name, module in model.named_modules():
        parts = name.split(".")
        if not isinstance(module, nn.Linear) or any(part.startswith("lora_") for part in parts):
            continue
        leaf = parts[-2] if parts[-1] == "base_layer" and len(parts) > 1 else parts[-1]
        if leaf != "lm_head":
            names.add(leaf)
    return names


def resolve_target_modules(model: Any, target_modules: list[str] | str) -> list[str] | str:
    """PEFT's `"all-linear"` spelled out as the model's own linear layer names (the output layer excepted),
    for loaders that take a list: Unsloth's `get_peft_model` replaces "all-linear" with Llama's seven
    names, which on a Phi-3-architecture model (fused `qkv_proj`, `gate_up_proj`) adapt `o_proj` and
    `down_proj` alone. Anything else is returned unchanged.

    Example:
        >>> from torch import nn
        >>> class Phi3Block(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.qkv_proj, self.o_proj = nn.Linear(4, 12), nn.Linear(4, 4)
        ...         self.gate_up_proj, self.down_proj = nn.Linear(4, 16), nn.Linear(8, 4)
        ...         self.lm_head = nn.Linear(4, 32)
        >>> resolve_target_modules(Phi3Block(), "all-linear")
        ['down_proj', 'gate_up_proj', 'o_proj', 'qkv_proj']
        >>> resolve_target_modules(Phi3Block(), ["down_proj"])
        ['down_proj']
    """
    if target_modules != "all-linear":
        return target_modules
    names = linear_module_names(model)
    output = getattr(model, "get_output_embeddings", lambda: None)()
    if output is not None:  # PEFT's all-linear leaves the output layer out, whatever its name
        names -= {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if module is output}
    if not names:
        raise LoraTargetError(f"lora.target_modules: all-linear found no linear layer in {type(model).__name__}; "
                              "name the modules to adapt instead.")
    return sorted(names)


def adapted_module_names(model: Any) -> list[str]:
    """Full names of the modules that carry a LoRA adapter (PEFT's layers have `lora_A`)."""
    return [name for name, module in model.named_modules() if hasattr(module, "lora_A") and name]


def unmatched_targets(model: Any, target_modules: list[str] | str) -> list[str]:
    """The requested names that no adapted module matches, in PEFT's sense (equal, or a `.name` suffix).

    A string (`"all-linear"`, a regex) is PEFT's own matching rule and is not checked here.
    """
    if isinstance(target_modules, str):
        return []
    adapted = adapted_module_names(model)
    return [key for key in target_modules if not any(name == key or name.endswith(f".{key}") for name in adapted)]


def check_lora_targets(model: Any, target_modules: list[str] | str) -> None:
    """Raise `LoraTargetError` naming the unmatched `lora.target_modules` and the model's linear layers."""
    missing = unmatched_targets(model, target_modules)
    if not missing:
        return
    base = getattr(model, "get_base_model", lambda: model)()
    linear = linear_module_names(model)
    missing_heads = {key.split("_")[0] for key in missing}  # gate_proj -> gate, found again in gate_up_proj
    fused = sorted(name for name in linear if name not in missing and missing_heads & set(name.split("_")))
    hint = f" (fused layers here: {', '.join(fused)}; a Phi-3-architecture checkpoint such as microsoft/phi-4 " \
           f"needs [gate_up_proj, down_proj] where unsloth/Phi-4 takes [gate_proj, up_proj, down_proj])" if fused else ""
    raise LoraTargetError(
        f"lora.target_modules: {', '.join(missing)} match no layer of {type(base).__name__}, so they would get "
        f"no adapter. Its linear layers are: {', '.join(sorted(linear)) or 'none found'}. Set "
        f"lora.target_modules to names from that list{hint}, or use all-linear."
    )
