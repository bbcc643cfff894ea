"""`eval --lora` refuses an adapter that belongs to another model with one `error:` line: one of other shapes
(PEFT's size-mismatch RuntimeError), and one of the same shapes trained on another base (PEFT only warns)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from grpo_training.embedded import embedded_model_path
from grpo_training.evaluation.cli import main_eval, main_generate


def error_lines(captured: str) -> list[str]:
    assert "Traceback" not in captured
    return [line for line in captured.splitlines() if line.startswith("error:")]


def save_adapter(model, folder):
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    peft_model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def narrow_lora(tmp_path_factory):
    """An adapter of a tiny Llama (hidden size 64), not of the embedded model (576)."""
    root = tmp_path_factory.mktemp("narrow")
    config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4)
    base = AutoModelForCausalLM.from_config(config)
    base.save_pretrained(root / "tiny-llama")
    return save_adapter(AutoModelForCausalLM.from_pretrained(root / "tiny-llama"), root / "lora")


@pytest.fixture(scope="module")
def same_width_lora(tmp_path_factory):
    """An adapter trained on a copy of the embedded model in another folder: same shapes, another base."""
    root = tmp_path_factory.mktemp("twin")
    twin = root / "other-model"
    shutil.copytree(embedded_model_path(), twin)
    return save_adapter(AutoModelForCausalLM.from_pretrained(twin, dtype=torch.float32), root / "lora")


def test_an_adapter_of_another_width_is_one_error_line(narrow_lora, tmp_path, capsys):
    status = main_eval(["--lora", str(narrow_lora), "--n", "1", "--max-new-tokens", "2", "--out", str(tmp_path / "e.json")])
    err = error_lines(capsys.readouterr().err)
    assert status == 2 and len(err) == 1 and err[0].startswith("error: --lora")
    assert "tiny-llama" in err[0] and str(embedded_model_path()) in err[0]
    assert not (tmp_path / "e.json").exists()


def test_forcing_an_adapter_of_another_width_still_fails_cleanly_naming_the_shapes(narrow_lora, capsys):
    status = main_generate(["--lora", str(narrow_lora), "--allow-other-base", "--max-new-tokens", "2"])
    err = error_lines(capsys.readouterr().err)
    assert status == 2 and err[-1].startswith("error: --lora") and "size mismatch" in err[-1]


def test_an_adapter_of_a_same_width_model_is_refused_naming_both_models(same_width_lora, tmp_path, capsys):
    status = main_eval(["--lora", str(same_width_lora), "--n", "1", "--max-new-tokens", "2",
                        "--out", str(tmp_path / "e.json")])
    err = error_lines(capsys.readouterr().err)
    trained_on = json.loads((same_width_lora / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert status == 2 and len(err) == 1
    assert repr(trained_on) in err[0] and repr(str(embedded_model_path())) in err[0] and "--allow-other-base" in err[0]
    assert not (tmp_path / "e.json").exists()


def test_allow_other_base_applies_a_same_width_adapter_with_a_warning(same_width_lora, tmp_path, caplog):
    out = tmp_path / "e.json"
    status = main_eval(["--lora", str(same_width_lora), "--allow-other-base", "--n", "1", "--max-new-tokens", "2",
                        "--out", str(out)])
    assert status == 0 and "--allow-other-base" in caplog.text
    assert [r["label"] for r in json.loads(out.read_text())["reports"]] == ["base", "base+lora"]
