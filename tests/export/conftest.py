"""Session fixtures for the export tests: the embedded SmolLM2 model with a (non-trivial) LoRA, its merge,
its GGUF files, tiny random models of each supported architecture, and llama.cpp's quantizer (built at
most once per machine: it is cached under $GRPO_CACHE / ~/.cache/grpo-toolkit and reused)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from grpo_export.verify import DEFAULT_PROMPTS

# One verification prompt keeps the suite fast on 2 shared cores; the library default is all three.
TEST_PROMPTS = DEFAULT_PROMPTS[1:2]
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    from grpo_training.embedded import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def quantizer() -> Path:
    """llama-quantize, built once (minutes) or taken from the cache (instant)."""
    from grpo_export.llama_cpp import ensure_quantizer

    started = time.monotonic()
    path = ensure_quantizer()
    print(f"\nllama-quantize ready in {time.monotonic() - started:.1f} s: {path}")
    return path


def add_trained_looking_lora(model, seed: int = 0, r: int = 8):
    """A LoRA whose B matrices are non-zero, so merging changes the model (a fresh LoRA is a no-op)."""
    from peft import LoraConfig, get_peft_model

    with torch.random.fork_rng():  # PEFT draws A from the global generator: seeded, whatever ran before
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=TARGET_MODULES))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    return peft_model


@pytest.fixture(scope="session")
def embedded_tokenizer(embedded_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_dir)


@pytest.fixture(scope="session")
def embedded_peft(embedded_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    return add_trained_looking_lora(model)


@pytest.fixture(scope="session")
def embedded_reference(embedded_peft, embedded_tokenizer):
    """base+LoRA's greedy tokens and logits on TEST_PROMPTS (computed once)."""
    from grpo_export.verify import make_reference

    return make_reference(embedded_peft, embedded_tokenizer, TEST_PROMPTS)


@pytest.fixture(scope="session")
def embedded_lora_dir(embedded_peft, embedded_tokenizer, tmp_path_factory) -> Path:
    from grpo_export import save_lora

    return save_lora(embedded_peft, embedded_tokenizer, tmp_path_factory.mktemp("embedded") / "grpo_saved_lora")


@pytest.fixture(scope="session")
def embedded_merged_dir(embedded_dir, embedded_lora_dir) -> Path:
    from grpo_export import merge

    return merge(embedded_dir, embedded_lora_dir, embedded_lora_dir.parent / "merged", prompts=TEST_PROMPTS)


@pytest.fixture(scope="session")
def embedded_gguf(embedded_merged_dir, quantizer):
    """f16 + q8_0 + q4_k_m in one call: converted once, quantised twice, each verified."""
    from grpo_export import to_gguf

    report: list[dict] = []
    paths = to_gguf(embedded_merged_dir, embedded_merged_dir.parent / "gguf", ["f16", "q8_0", "q4_k_m"],
                    model_name="smollm2-grpo", report=report)
    return paths, report


def make_tiny_model(architecture: str, folder: Path, tokenizer, seed: int = 0) -> Path:
    """A tiny random model of `architecture` whose widths are multiples of 256 (so K-quants apply to every
    weight), saved in bf16 with the real SmolLM2 tokenizer (vocab 49,152 = 192 x 256)."""
    from transformers import AutoModelForCausalLM, Gemma3TextConfig, LlamaConfig, Phi3Config, Qwen3Config

    common = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=len(tokenizer), max_position_embeddings=512,
                  bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                  pad_token_id=tokenizer.pad_token_id, initializer_range=0.2, tie_word_embeddings=True)
    configs = {
        "llama": lambda: LlamaConfig(**common),
        "phi3": lambda: Phi3Config(**common),
        # head_dim as in the real families: transformers' GGUF loader takes it from the config class default
        "qwen3": lambda: Qwen3Config(head_dim=128, **common),
        "gemma3": lambda: Gemma3TextConfig(head_dim=256, sliding_window=128, **common),
    }
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(configs[architecture](), dtype=torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(torch.bfloat16).save_pretrained(folder)  # 16-bit, as merge(..., "merged_16bit") writes
    tokenizer.save_pretrained(folder)
    return folder
