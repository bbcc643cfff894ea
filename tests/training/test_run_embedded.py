"""End to end on the embedded SmolLM2-135M-Instruct: 2 GRPO steps through `run_grpo`, then every
artefact of the run folder is read back (LoRA changes the logits, metrics, curve, SwanLab, eval)."""

from __future__ import annotations

import json

import pytest
import torch

from grpo_training.run.trainer_checkpoints import COMPLETE_MARKER
from grpo_training.recipe import DEMO_RECIPE, load_recipe
from grpo_training.embedded import embedded_model_path
from grpo_training.run.monitoring import read_metrics
from grpo_training.run.grpo import run_grpo


@pytest.mark.slow
def test_two_steps_on_the_embedded_model_leave_a_complete_run_folder(tmp_path):
    # Completions keep the demo length: 24-token ones never close a tag, so every reward in a group is equal,
    # every advantage 0, and the run (rightly) refuses the untrained adapter.
    recipe = load_recipe(DEMO_RECIPE, [
        "grpo.max_steps=2", "grpo.save_steps=1", "data.synthetic_rows=40",
        "data.eval_rows=4", "evaluation.max_new_tokens=24", "evaluation.batch_size=4",
        f"run.output_dir={tmp_path}", "run.name=e2e", "run.swanlab_mode=local", "run.log_completions_every=1",
    ])
    result = run_grpo(recipe)
    run_dir = tmp_path / "e2e"
    assert result.run_dir == run_dir and result.global_step == 2

    # The LoRA loads back with PEFT and changes the base model's logits.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run_dir / "lora")
    assert "<reasoning>" not in (tokenizer.chat_template or "")  # the saved tokenizer is the original one
    inputs = tokenizer("<|im_start|>user\nWhat is 7 + 5?<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(embedded_model_path(), dtype=torch.float32)
    with torch.no_grad():
        base_logits = base(**inputs).logits
        tuned = PeftModel.from_pretrained(base, run_dir / "lora")
        tuned_logits = tuned(**inputs).logits
    assert (tuned_logits - base_logits).abs().max().item() > 1e-4

    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [row["step"] for row in rows] == [1, 2]
    assert all({"loss", "reward", "reward_std", "rewards/correctness/mean"} <= set(row) for row in rows)
    assert (run_dir / "reward_curve.png").read_bytes()[:4] == b"\x89PNG"

    swanlab_runs = list((run_dir / "swanlog").glob("run-*"))
    assert swanlab_runs and any(path.is_file() and path.stat().st_size > 0 for path in swanlab_runs[0].rglob("*"))

    report = json.loads((run_dir / "eval.json").read_text())
    assert [entry["label"] for entry in report["reports"]] == ["before", "after"]
    assert all(entry["n"] == 4 and 0 <= entry["format_compliance"] <= 1 for entry in report["reports"])

    log = (run_dir / "train.log").read_text()
    for expected in ("Backend: trl", "Run summary", "trainable parameters", "Training L", "Sample at step 1",
                     "LoRA check:", "Evaluation on 4 held-out prompts"):
        assert expected in log, expected
    assert all((run_dir / f"checkpoint-{step}" / COMPLETE_MARKER).is_file() for step in (1, 2))
    assert (run_dir / "recipe.yaml").is_file() and json.loads((run_dir / "result.json").read_text())["global_step"] == 2
