"""A tiny randomly initialised Llama with the embedded SmolLM2 tokenizer, for fast training tests."""

from __future__ import annotations

from pathlib import Path

import yaml


def build_tiny_model(folder: Path) -> Path:
    """Save a 2-layer, 64-wide Llama (random weights) + the real SmolLM2 tokenizer into `folder`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from grpo_training.embedded import embedded_model_path

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_recipe(model_dir: Path, output_dir: Path, **sections) -> dict:
    """A recipe dict for the tiny model: 4 generations x 8 tokens, synthetic GSM8K, no SwanLab."""
    recipe = {
        "model": {"name": str(model_dir), "max_seq_length": 512},
        "lora": {"r": 4, "alpha": 8, "target_modules": "all-linear"},
        "grpo": {"learning_rate": 1e-2, "num_generations": 4, "per_device_train_batch_size": 4,
                 "max_completion_length": 8, "max_steps": 2, "logging_steps": 1, "beta": 0.0, "loss_type": "dapo"},
        # language varies on a random model's gibberish, so advantages (and the LoRA update) are non-zero.
        "rewards": {"funcs": ["xmlcount", "soft_format", "integer", {"name": "language", "params": {"target": "en"}}]},
        "data": {"loader": "gsm8k", "source": "synthetic", "synthetic_rows": 64, "system_prompt": "xml",
                 "prefill": "<reasoning>\n", "eval_rows": 0},
        "run": {"output_dir": str(output_dir), "name": "tiny", "report_to": "none", "log_completions_every": 1},
    }
    for section, values in sections.items():
        recipe.setdefault(section, {}).update(values)
    return recipe


def write_recipe(recipe: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path
