"""LoRA targets: a name that matches no layer is an error naming the layers the model has (PEFT drops it silently)."""

from __future__ import annotations

import pytest

from grpo_training.model.backends import select_backend
from grpo_training.recipe import recipe_from_dict
from grpo_training.model.lora_targets import LoraTargetError, resolve_target_modules, unmatched_targets
from grpo_training.run.steps import load_model
from tiny_model import build_tiny_model, tiny_recipe


@pytest.fixture(scope="module")
def tiny_phi3_dir(tmp_path_factory):
    """A 2-layer Phi-3-architecture model (microsoft/phi-4's: fused qkv_proj and gate_up_proj), real tokenizer."""
    import torch
    from transformers import AutoTokenizer, Phi3Config, Phi3ForCausalLM

    from grpo_training.embedded import embedded_model_path

    folder = tmp_path_factory.mktemp("phi3") / "model"
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    config = Phi3Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                        pad_token_id=tokenizer.pad_token_id, bos_token_id=None, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    Phi3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("llama") / "model")


def _load(model_dir, tmp_path, targets):
    recipe = recipe_from_dict(tiny_recipe(model_dir, tmp_path, lora={"target_modules": targets}))
    return load_model(recipe, select_backend("trl"))


def test_tutorial_targets_on_a_phi3_architecture_name_the_fused_layers(tiny_phi3_dir, tmp_path):
    with pytest.raises(LoraTargetError) as caught:
        _load(tiny_phi3_dir, tmp_path, ["gate_proj", "up_proj", "down_proj"])
    message = str(caught.value)
    assert "gate_proj, up_proj match no layer of Phi3ForCausalLM" in message
    assert "Its linear layers are: down_proj, gate_up_proj, o_proj, qkv_proj." in message  # PEFT's wrappers unwrapped
    assert "microsoft/phi-4" in message
    assert "down_proj match" not in message  # down_proj exists in both architectures


def test_phi3_targets_adapt_every_named_layer(tiny_phi3_dir, tmp_path):
    model, _ = _load(tiny_phi3_dir, tmp_path, ["gate_up_proj", "down_proj"])
    adapted = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if hasattr(module, "lora_A")}
    assert adapted == {"gate_up_proj", "down_proj"}
    assert unmatched_targets(model, ["gate_up_proj", "down_proj", "qkv_proj"]) == ["qkv_proj"]


def test_llama_targets_pass_and_all_linear_is_left_to_peft(tiny_llama_dir, tmp_path):
    model, _ = _load(tiny_llama_dir, tmp_path, ["gate_proj", "up_proj", "down_proj"])
    assert unmatched_targets(model, ["gate_proj", "up_proj", "down_proj"]) == []
    assert unmatched_targets(model, "all-linear") == []
    with pytest.raises(LoraTargetError, match="qkv_proj match no layer of LlamaForCausalLM.*Its linear layers are: "
                       "down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj\\."):
        _load(tiny_llama_dir, tmp_path, ["qkv_proj", "o_proj"])


@pytest.mark.parametrize("model_fixture, expected", [
    ("tiny_phi3_dir", ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]),
    ("tiny_llama_dir", ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]),
])
def test_all_linear_spelled_out_adapts_what_peft_all_linear_adapts(model_fixture, expected, request):
    """The unsloth backend hands Unsloth this list (Unsloth turns "all-linear" into Llama's names)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model_dir = request.getfixturevalue(model_fixture)
    resolved = resolve_target_modules(AutoModelForCausalLM.from_pretrained(model_dir), "all-linear")
    assert resolved == expected

    def adapted(targets):
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(r=2, target_modules=targets))
        return sorted(name for name, module in model.named_modules() if hasattr(module, "lora_A"))

    assert adapted(resolved) == adapted("all-linear")
    assert resolve_target_modules(object(), ["q_proj"]) == ["q_proj"]


def test_all_linear_on_a_model_without_linear_layers_is_an_error():
    from torch import nn

    with pytest.raises(LoraTargetError, match="all-linear found no linear layer in Embedding; name the modules"):
        resolve_target_modules(nn.Embedding(4, 2), "all-linear")
