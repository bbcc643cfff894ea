"""The tiny good GGUF the llama.cpp runtime probes load: a 2-layer random Llama with the SmolLM2 tokenizer
(`gpt2`/`smollm` vocabulary), saved to /tmp/tiny and converted to /tmp/tiny.gguf (f16) by the toolkit's converter.
Run from the repository root with `.devcarry/` present: `python3 benchmarks/device/tiny_llama_gguf.py`."""

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from grpo_export.gguf_export import convert_to_gguf

TOKENIZER, FOLDER, GGUF = ".devcarry/tok-smollm2", Path("/tmp/tiny"), Path("/tmp/tiny.gguf")

if __name__ == "__main__":
    tok = AutoTokenizer.from_pretrained(TOKENIZER)
    config = LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=len(tok), tie_word_embeddings=True)
    AutoModelForCausalLM.from_config(config).to(torch.bfloat16).save_pretrained(FOLDER)
    tok.save_pretrained(FOLDER)
    convert_to_gguf(FOLDER, GGUF, "f16", Path("/tmp/conv.log"))
    print(f"tiny GGUF written: {GGUF}")
