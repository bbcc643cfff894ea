"""LoRA -> save_lora -> merge (merged_16bit) -> reload -> logits match, on the embedded SmolLM2 model."""

from __future__ import annotations

import json
import os

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from grpo_export import ExportError, merge, save_lora
from grpo_export.lora import vllm_lora_problems
from grpo_export.merge import merged_state_dict
from grpo_export.verify import compare_with_reference

from conftest import TEST_PROMPTS


def test_saved_lora_reloads_with_peft_and_gives_the_same_logits(embedded_lora_dir, embedded_peft, embedded_dir,
                                                                embedded_tokenizer):
    names = {p.name for p in embedded_lora_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    config = json.loads((embedded_lora_dir / "adapter_config.json").read_text())
    assert vllm_lora_problems(config) == []  # loadable by vLLM's LoRARequest
    base = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    reloaded = PeftModel.from_pretrained(base, embedded_lora_dir)
    ids = embedded_tokenizer("What is 12 * 7?", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(reloaded(**ids).logits, embedded_peft(**ids).logits)


def test_saved_lora_folder_and_files_follow_the_umask(embedded_peft, embedded_tokenizer, tmp_path):
    previous = os.umask(0o022)
    try:
        out = save_lora(embedded_peft, embedded_tokenizer, tmp_path / "lora")
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o755  # was 0o700: the mkdtemp staging folder renamed into place
    modes = {path.name: path.stat().st_mode & 0o777 for path in out.iterdir()}
    assert "adapter_model.safetensors" in modes and set(modes.values()) == {0o644}, modes


def test_save_lora_refuses_a_plain_model(embedded_dir, embedded_tokenizer, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(embedded_dir)
    with pytest.raises(ExportError, match="needs a peft.PeftModel"):
        save_lora(model, embedded_tokenizer, tmp_path / "lora")
    assert not (tmp_path / "lora").exists()


def test_merged_16bit_folder_is_complete_and_matches_base_plus_lora(embedded_merged_dir, embedded_reference):
    names = {p.name for p in embedded_merged_dir.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
            "chat_template.jinja"} <= names
    config = json.loads((embedded_merged_dir / "config.json").read_text())
    assert config["dtype"] == "bfloat16" and "quantization_config" not in config
    # independent of merge()'s own verification: reload and compare with the in-memory base+LoRA
    merged = AutoModelForCausalLM.from_pretrained(embedded_merged_dir, dtype=torch.float32)
    comparison = compare_with_reference(merged, embedded_reference)
    assert comparison.top1_agreement >= 0.97 and comparison.relative_logit_error < 0.05


def test_float32_merge_of_in_memory_model_is_exact_and_leaves_the_model_untouched(embedded_peft, embedded_reference,
                                                                                  embedded_tokenizer, tmp_path):
    before = {k: v.clone() for k, v in embedded_peft.state_dict().items()}
    out = merge(embedded_peft, None, tmp_path / "merged32", tokenizer=embedded_tokenizer, dtype="float32",
                prompts=TEST_PROMPTS)
    after = embedded_peft.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # merge never mutates the trained model
    state = merged_state_dict(embedded_peft, torch.float32)
    assert not any("lora_" in k or "base_layer" in k for k in state)
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    comparison = compare_with_reference(reloaded, embedded_reference)
    assert comparison.top1_agreement == 1.0 and comparison.relative_logit_error < 1e-4


def test_the_lora_really_changes_the_model(embedded_dir, embedded_merged_dir, embedded_tokenizer):
    """Guards the other tests against a no-op adapter (a fresh LoRA has B = 0)."""
    base = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    merged = AutoModelForCausalLM.from_pretrained(embedded_merged_dir, dtype=torch.float32)
    ids = embedded_tokenizer(TEST_PROMPTS[0], return_tensors="pt")
    with torch.no_grad():
        difference = (merged(**ids).logits - base(**ids).logits).abs().mean()
    assert difference > 0.05


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU error")
def test_merged_4bit_on_cpu_is_a_clear_error(embedded_dir, embedded_lora_dir, tmp_path):
    with pytest.raises(ExportError, match="merged_4bit needs bitsandbytes and a CUDA GPU"):
        merge(embedded_dir, embedded_lora_dir, tmp_path / "m4", method="merged_4bit")
    assert not (tmp_path / "m4").exists()


def test_unknown_method_and_missing_adapter_are_clear_errors(embedded_dir, tmp_path):
    with pytest.raises(ExportError, match="not one of"):
        merge(embedded_dir, tmp_path, tmp_path / "m", method="lora")
    with pytest.raises(ExportError, match="no adapter_config.json"):
        merge(embedded_dir, tmp_path, tmp_path / "m")
