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

from grpo_training.embedded import (
    EMBEDDED_FOLDER_REVISION,
    EMBEDDED_MODEL_NAME,
    EOS_TOKEN,
    embedded_gguf_path,
    embedded_model_path,
)


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


# Ids the tokenizer transformers writes when it imports the GGUF (byte_fallback layout) gives, computed
# once with it: the rebuilt tokenizer must give the same ones (English, digits, newlines, emoji, Indonesian, specials).
SAME_IDS_AS_BEFORE = [
    ("Natalia sold 48 clips in April.\n2024 + 17 = 2041\n\nDone.",
     [62, 6927, 542, 3459, 216, 36, 40, 23026, 281, 4124, 30, 198, 34, 32, 34, 36, 1232, 216, 33, 39, 446, 216, 34,
      32, 36, 33, 198, 198, 41462, 30]),
    ("Emoji: 🚀 ✅🦙", [10809, 33777, 42, 15107, 244, 218, 4636, 246, 223, 10813, 116, 243]),
    ("Apa kabar? Terima kasih banyak.", [49, 10905, 501, 47265, 47, 7274, 9508, 501, 292, 7402, 278, 1111, 494, 30]),
    ("<|im_start|>user\nHi<|im_end|>\n", [1, 4093, 198, 26843, 2, 198]),
]
# The one place the GGUF import was wrong: two or more whitespace characters before a digit. The original
# tokenizer (digits split first) and llama.cpp's "smollm" pre-tokenizer keep the run as one token.
FIXED_IDS = [("a  1", [81, 256, 33], [81, 216, 216, 33]), ("May.\n\n72", [9389, 30, 1116, 39, 34], [9389, 30, 198, 198, 39, 34])]


def test_tokenizer_is_byte_level_with_the_same_ids_as_before(model_dir: Path):
    """The GGUF import's SentencePiece-like layout (byte_fallback, ByteFallback/Fuse/Replace decoder) made llama.cpp
    take the vocabulary for SentencePiece; the cached folder has the original byte-level pipeline, same ids."""
    assert model_dir.name == f"SmolLM2-135M-Instruct-0.1.2-r{EMBEDDED_FOLDER_REVISION}"
    data = json.loads((model_dir / "tokenizer.json").read_text())
    assert data["model"]["byte_fallback"] is False and data["decoder"]["type"] == "ByteLevel"
    assert [step["type"] for step in data["pre_tokenizer"]["pretokenizers"]] == ["Digits", "ByteLevel"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for text, ids in SAME_IDS_AS_BEFORE:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids, text
        assert tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False) == text
    for text, ids, before in FIXED_IDS:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids != before, text
        assert tokenizer.decode(ids, clean_up_tokenization_spaces=False) == text


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


@pytest.mark.slow
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
