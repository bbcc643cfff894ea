"""Backend selection, import guards, the prefill mechanism and the LoRA check."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from transformers import AutoTokenizer

from grpo_training.model.backends import BackendError, select_backend
from grpo_training.embedded import embedded_model_path
from grpo_training.prepare import with_prefill

needs_cpu_only = pytest.mark.skipif("torch" in sys.modules and __import__("torch").cuda.is_available(),
                                    reason="these checks describe the CPU machine")


@needs_cpu_only
def test_auto_selects_trl_on_cpu_and_logs_one_line(caplog):
    with caplog.at_level(logging.INFO, logger="grpo_training.model.backends"):
        choice = select_backend("auto")
    assert choice.name == "trl" and not choice.cuda
    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Backend:")]
    assert lines == ["Backend: trl (auto; CUDA not available, unsloth not installed)"]


@needs_cpu_only
def test_unsloth_on_cpu_is_refused_with_the_way_out():
    with pytest.raises(BackendError, match="--backend trl"):
        select_backend("unsloth")


def test_unsloth_loading_with_auto_vllm_share_needs_the_preflights_share():
    from grpo_training.recipe import Recipe
    from grpo_training.model.backends import load_model_unsloth

    recipe = Recipe()
    recipe.model.name, recipe.model.fast_inference, recipe.model.gpu_memory_utilization = "org/model", True, "auto"
    with pytest.raises(BackendError, match="memory pre-flight"):
        load_model_unsloth(recipe)


def test_unknown_backend_is_refused():
    with pytest.raises(BackendError, match="unknown backend"):
        select_backend("jax")


def test_the_cpu_path_never_imports_unsloth_or_vllm():
    code = ("import sys, grpo_training.run.grpo, grpo_training.cli.main, grpo_training.model.backends; "
            "bad = [m for m in ('unsloth', 'vllm', 'bitsandbytes') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", ["grpo_training", "grpo_training.recipe"])
def test_importing_the_package_does_not_import_trl(module):
    code = f"import sys, {module}; sys.exit('trl' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_prefill_is_rendered_after_the_generation_prompt_as_trl_tokenizes_prompts():
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    prompt = [{"role": "system", "content": "Answer in XML."}, {"role": "user", "content": "What is 2+3?"}]
    patched = with_prefill(tokenizer, "<reasoning>\n")
    # GRPOTrainer._tokenize_prompts (TRL 1.14.2) calls exactly this: a batch, generation prompt, tokenized.
    ids = patched.apply_chat_template(conversation=[prompt], add_generation_prompt=True, tokenize=True,
                                      return_dict=True)["input_ids"][0]
    text = tokenizer.decode(ids)
    assert text.endswith("<|im_start|>assistant\n<reasoning>\n"), text
    # The original tokenizer (saved with the LoRA) is untouched, and without a generation prompt nothing is added.
    assert tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True).endswith("assistant\n")
    assert not patched.apply_chat_template(prompt, tokenize=False).endswith("<reasoning>\n")


def test_prefill_with_quotes_and_backslashes_survives_the_template():
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    prefill = 'Let\'s think "step" by \\step\n'
    text = with_prefill(tokenizer, prefill).apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                                                add_generation_prompt=True)
    assert text.endswith(prefill)


def test_an_untrained_adapter_fails_the_lora_check(tmp_path):
    from peft import LoraConfig, get_peft_model
    from tiny_model import build_tiny_model
    from transformers import AutoModelForCausalLM

    from grpo_training.run.lora import LoraNotTrainedError, verify_lora_trained

    model_dir = build_tiny_model(tmp_path / "tiny")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                           LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"))
    model.save_pretrained(tmp_path / "lora")
    with pytest.raises(LoraNotTrainedError, match="are zero"):
        verify_lora_trained(tmp_path / "lora")


def test_saved_lora_folder_gets_the_mode_the_umask_asks_for(tmp_path):
    # save_lora stages in a mkdtemp folder (0o700) and renames it to lora/: the run's lora/ was private.
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from grpo_training.model.backends import save_lora

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1)
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    previous = os.umask(0o022)
    try:
        lora_dir = save_lora(model, tokenizer, tmp_path / "run" / "lora")
    finally:
        os.umask(previous)
    assert lora_dir.stat().st_mode & 0o777 == 0o755
    modes = {path.name: path.stat().st_mode & 0o777 for path in lora_dir.iterdir()}
    assert "adapter_model.safetensors" in modes and set(modes.values()) == {0o644}, modes
    assert sorted(path.name for path in lora_dir.parent.iterdir()) == ["lora"]  # no staging folder left
