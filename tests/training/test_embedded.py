"""The embedded SmolLM2 model: materialised once, plain safetensors, EOS/pad fixed, safe under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from grpo_training.embedded import EMBEDDED_MODEL_NAME, EOS_TOKEN, embedded_gguf_path, embedded_model_path


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return embedded_model_path()


def test_gguf_comes_from_the_installed_wheel():
    path = embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_folder_is_plain_safetensors_with_chat_template(model_dir: Path):
    assert "SmolLM2" in EMBEDDED_MODEL_NAME
    names = {p.name for p in model_dir.iterdir()}
    assert "model.safetensors" in names
    assert not any(name.endswith(".gguf") for name in names)
    config = json.loads((model_dir / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "llama"


def test_eos_and_pad_are_end_of_turn(model_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    end_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    assert tokenizer.eos_token == EOS_TOKEN and tokenizer.pad_token == EOS_TOKEN
    assert model.config.eos_token_id == end_id and model.generation_config.eos_token_id == end_id
    assert model.generation_config.pad_token_id == end_id
    assert not getattr(model, "is_quantized", False) and getattr(model, "hf_quantizer", None) is None
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>assistant\n")


def test_greedy_reply_stops_at_end_of_turn(model_dir: Path):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=48, do_sample=False)
    new_tokens = out[0, ids["input_ids"].shape[1]:].tolist()
    # A real answer that ends its turn well before the limit (with the GGUF's EOS it would run on).
    assert tokenizer.convert_tokens_to_ids(EOS_TOKEN) in new_tokens
    assert "paris" in tokenizer.decode(new_tokens, skip_special_tokens=True).lower()


def test_second_call_reuses_the_cache(model_dir: Path):
    before = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert embedded_model_path() == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == before


def _materialise_in(cache: str) -> str:
    return str(embedded_model_path(Path(cache)))


_CRASH_MID_BUILD = """
import os, sys
from pathlib import Path
import grpo_training.embedded as embedded

def write_half_then_die(gguf_file, out_dir):
    (Path(out_dir) / "model.safetensors").write_bytes(b"partial")
    os._exit(9)

embedded._materialise = write_half_then_die
embedded.embedded_model_path(Path(sys.argv[1]))
"""


def test_killed_build_is_never_taken_and_racing_processes_share_one_build(tmp_path: Path):
    """A build killed mid-way leaves no model; then two processes racing on that cache both get the
    same complete folder, and no staging folder is left behind."""
    killed = subprocess.run([sys.executable, "-c", _CRASH_MID_BUILD, str(tmp_path)], env=os.environ.copy())
    assert killed.returncode == 9
    models = tmp_path / "models"
    assert [p for p in models.iterdir() if not p.name.startswith(".")] == []  # only staging and lock

    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_materialise_in, [str(tmp_path), str(tmp_path)])
    assert results[0] == results[1]
    folder = Path(results[0])
    assert (folder / "model.safetensors").stat().st_size > 100_000_000
    assert AutoTokenizer.from_pretrained(folder).eos_token == EOS_TOKEN
    leftovers = [p.name for p in models.iterdir() if p.is_dir() and p != folder]
    assert leftovers == []
