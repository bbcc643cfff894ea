"""The `eval` and `generate` commands, end to end on the embedded model (short generations)."""

from __future__ import annotations

import json

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from grpo_training.embedded import embedded_model_path
from grpo_training.evaluation.cli import main_eval, main_generate


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory):
    model = AutoModelForCausalLM.from_pretrained(embedded_model_path(), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.fill_(0.02)
    folder = tmp_path_factory.mktemp("run") / "lora"
    peft_model.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_eval_writes_base_and_lora_reports_with_sampling(tmp_path, lora_dir, capsys):
    out = tmp_path / "eval.json"
    code = main_eval(["--lora", str(lora_dir), "--data", "synthetic", "--n", "3", "--prefix", "<reasoning>\\n",
                      "--max-new-tokens", "8", "--temperature", "0", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    labels = [report["label"] for report in data["reports"]]
    assert labels == ["base", "base+lora"]
    assert all(report["n"] == 3 and report["prefix"] == "<reasoning>\n" for report in data["reports"])
    assert data["reports"][0]["sampling"]["max_new_tokens"] == 8
    assert data["reports"][1]["lora"] == str(lora_dir)
    printed = capsys.readouterr().out
    assert "max_new_tokens=8" in printed and "base+lora" in printed and f"wrote {out}" in printed


def test_eval_reads_a_local_gsm8k_file(tmp_path, capsys):
    data = tmp_path / "test.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"What is {i} + {i}?", "answer": f"{i}+{i}={2 * i}\n#### {2 * i}"})
                              for i in range(1, 4)) + "\n")
    out = tmp_path / "eval.json"
    assert main_eval(["--data", str(data), "--n", "2", "--max-new-tokens", "4", "--out", str(out)]) == 0
    report = json.loads(out.read_text())["reports"][0]
    assert report["n"] == 2 and report["sampling"]["temperature"] == 0.8 and report["lora"] is None


def test_eval_missing_data_file_or_lora_is_a_usage_error_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_eval(["--data", str(tmp_path / "missing.jsonl"), "--n", "2", "--out", str(tmp_path / "e.json")])
    assert exit_info.value.code == 2 and "missing.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main_generate(["--lora", str(tmp_path / "no_lora")])
    assert "no_lora" in capsys.readouterr().err and not (tmp_path / "e.json").exists()


def test_generate_prints_all_four_variants(lora_dir, capsys):
    assert main_generate(["--lora", str(lora_dir), "--max-new-tokens", "6", "--temperature", "0"]) == 0
    printed = capsys.readouterr().out
    for variant in ("base, no system prompt", "base, with system prompt",
                    "base+lora, no system prompt", "base+lora, with system prompt"):
        assert f"=== {variant} ===" in printed
    assert "temperature=0.0" in printed


def test_generate_r1_preset_uses_its_tutorial_prompt_and_sampling(capsys):
    assert main_generate(["--preset", "r1_dapo", "--system-prompt", "none", "--max-new-tokens", "4"]) == 0
    printed = capsys.readouterr().out
    assert "top_k=50" in printed and "=== base, no system prompt ===" in printed
    assert "with system prompt" not in printed
