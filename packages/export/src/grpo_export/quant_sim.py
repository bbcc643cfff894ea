"""What quantising a model to a GGUF type does to its weights, simulated in torch (ggml's reference
formulas for q8_0, q5_0 and q4_0), to measure the error a GGUF type cannot avoid.

K-quants have no simple reference formula; each is measured against the simple type it is at least as
accurate as (llama.cpp's published quality tables: q6_k, q5_k_* ≥ q5_0; q4_k_* ≥ q4_0).
"""

from __future__ import annotations

import torch

BLOCK = 32
FLOOR_TYPE: dict[str, str] = {
    "f32": "f32", "f16": "f16", "bf16": "bf16", "q8_0": "q8_0",
    "q6_k": "q5_0", "q5_k_m": "q5_0", "q5_k_s": "q5_0", "q5_0": "q5_0", "q5_1": "q5_0",
    "q4_k_m": "q4_0", "q4_k_s": "q4_0", "q4_0": "q4_0", "q4_1": "q4_0",
}
"""The simulated type whose error a GGUF method may be compared with (q3/q2 K-quants: none, reported only)."""
ACTIVATION_TYPE: dict[str, str] = {"f32": "f32", "f16": "f16", "bf16": "bf16"}
"""What llama.cpp's CPU matrix products round activations to, per weight type (ggml's `vec_dot_type`): float
weights meet activations of their own type; every block-quantised type meets 8-bit blocks (q8_0 / q8_K)."""


def simulate_activations(activations: torch.Tensor, weight_type: str) -> torch.Tensor:
    """`activations` (any shape, last dim = features) rounded as llama.cpp rounds them before a product with
    weights of `weight_type`: to f16/bf16, or to 8-bit blocks of 32.

    Example:
        >>> x = torch.linspace(-1, 1, 64).reshape(1, 2, 32)
        >>> simulate_activations(x, "q4_k_m").shape
        torch.Size([1, 2, 32])
    """
    kind = ACTIVATION_TYPE.get(weight_type, "q8_0")
    flat = activations.reshape(-1, activations.shape[-1]).float()
    return simulate_quantisation(flat, kind).reshape(activations.shape).to(activations.dtype)


def simulate_quantisation(tensor: torch.Tensor, kind: str) -> torch.Tensor:
    """`tensor` (float32) after a round trip through GGUF type `kind`. Matrices whose rows split into blocks of
    32 are block-quantised; other tensors (norms, biases) stay as they are, as llama.cpp keeps them in float.

    Example:
        >>> x = torch.linspace(-1, 1, 64).reshape(2, 32)
        >>> float((simulate_quantisation(x, "q8_0") - x).abs().max()) < 1 / 127
        True
        >>> torch.equal(simulate_quantisation(x, "f32"), x)
        True
    """
    if kind in ("f32", "f16", "bf16"):
        return tensor.to({"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[kind]).float()
    if tensor.ndim != 2 or tensor.shape[-1] % BLOCK:
        return tensor
    blocks = tensor.float().reshape(-1, BLOCK)
    if kind == "q8_0":
        scale = blocks.abs().amax(-1, keepdim=True) / 127
        inverse = torch.where(scale > 0, 1 / scale, torch.zeros_like(scale))
        quantised = torch.round(blocks * inverse).clamp(-127, 127)
    elif kind in ("q4_0", "q5_0"):
        levels = 8 if kind == "q4_0" else 16
        index = blocks.abs().argmax(-1, keepdim=True)
        scale = blocks.gather(-1, index) / -levels
        inverse = torch.where(scale != 0, 1 / scale, torch.zeros_like(scale))
        quantised = torch.floor(blocks * inverse + levels + 0.5).clamp(0, 2 * levels - 1) - levels
    else:
        raise ValueError(f"no simulation for GGUF type {kind!r}; see FLOOR_TYPE")
    scale = scale.to(torch.float16).float()  # ggml stores each block's scale in fp16
    return (quantised * scale).reshape(tensor.shape)
