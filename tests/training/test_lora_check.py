"""The LoRA check on real `adapter_model.safetensors` files: a trained adapter is finite and has a non-zero lora_B;
an untrained one (all lora_B zero) and a diverged one (NaN or inf anywhere) are refused, each named for what it is."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from grpo_training.run.lora import LoraNotTrainedError, verify_lora_trained

LAYERS = 3


def write_adapter(folder, lora_a, lora_b):
    """An adapter file with `LAYERS` q_proj/v_proj pairs, each A and B filled by the given functions of the layer."""
    tensors = {}
    for layer in range(LAYERS):
        for module in ("q_proj", "v_proj"):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = lora_a(layer).contiguous()
            tensors[f"{prefix}.lora_B.weight"] = lora_b(layer).contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


def trained_a(layer):
    return torch.full((4, 16), 0.1)


def trained_b(layer):
    return torch.full((16, 4), 0.01)


def test_a_trained_finite_adapter_passes(tmp_path):
    assert verify_lora_trained(write_adapter(tmp_path / "lora", trained_a, trained_b)) == 2 * LAYERS


def test_an_adapter_of_nans_is_not_finite_rather_than_zero(tmp_path):
    nan = lambda layer: torch.full((16, 4), float("nan"))  # what an infinite beta left in every lora_B
    with pytest.raises(LoraNotTrainedError, match=r"^12 of 12 LoRA tensors in .* are not finite \(NaN or inf"):
        verify_lora_trained(write_adapter(tmp_path / "lora", lambda layer: torch.full((4, 16), float("nan")), nan))


def test_one_infinite_value_in_a_lora_b_fails_the_check(tmp_path):
    def mostly_trained_b(layer):
        tensor = trained_b(layer)
        if layer == 2:
            tensor[3, 1] = float("inf")
        return tensor

    with pytest.raises(LoraNotTrainedError, match=r"^2 of 12 LoRA tensors .* are not finite .*layers\.2\."):
        verify_lora_trained(write_adapter(tmp_path / "lora", trained_a, mostly_trained_b))


def test_a_nan_in_lora_a_alone_fails_the_check(tmp_path):
    def one_nan_a(layer):
        tensor = trained_a(layer)
        tensor[0, 0] = float("nan") if layer == 0 else tensor[0, 0]
        return tensor

    with pytest.raises(LoraNotTrainedError, match="are not finite"):
        verify_lora_trained(write_adapter(tmp_path / "lora", one_nan_a, trained_b))


def test_an_all_zero_lora_b_is_still_called_untrained(tmp_path):
    with pytest.raises(LoraNotTrainedError, match=r"^all 6 lora_B tensors in .* are zero"):
        verify_lora_trained(write_adapter(tmp_path / "lora", trained_a, lambda layer: torch.zeros(16, 4)))
