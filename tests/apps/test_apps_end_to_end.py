"""Each app, run for real in demo mode (shortened: 2 GRPO steps, a few held-out prompts), as a user runs
it: `python apps/<app>/train.py --demo ...`. The run folder's artefacts are then loaded back.

The Phi-4 app also exports a q8_0 GGUF and its SwanLab log is opened in the dashboard (headless
Chromium); the R1 app skips GGUF (`--gguf` with no method) to keep the suite short. The Gemma-3 app's demo is
the Phi-4 app's (the same demo recipe: only its GPU recipe differs, checked in test_recipes.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swanlab_browser import check_dashboard, find_chromium

pytestmark = pytest.mark.slow  # each test trains (and exports) through an app's own script

REPO = Path(__file__).resolve().parents[2]
SHORT = ["--set", "grpo.max_steps=2", "--set", "grpo.save_steps=1", "--set", "data.synthetic_rows=48",
         "--set", "data.eval_rows=4", "--set", "evaluation.max_new_tokens=24", "--set", "run.log_completions_every=1"]
# Completions keep the demo length (96 tokens): shorter ones never close a tag, every reward in a group is
# equal, all advantages are 0, and the run rightly refuses an adapter that did not train.


def run_app(app: str, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "runs"
    command = [sys.executable, str(REPO / "apps" / app / "train.py"), "--demo", *SHORT,
               "--set", f"run.output_dir={out}", "--set", f"run.name={app}-e2e", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert completed.returncode == 0, f"{app} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-6000:]}"
    run_dir = out / f"{app}-e2e"
    assert f"Run folder {run_dir}" in completed.stdout
    return run_dir


def check_run_folder(run_dir: Path, reward_names: list[str]) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from grpo_training.embedded import embedded_model_path
    from grpo_training.run.trainer_checkpoints import COMPLETE_MARKER

    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [row for row in metrics if "reward" in row]
    assert [row["step"] for row in steps] == [1, 2]
    for name in reward_names:
        assert any(key.startswith(f"rewards/{name}") for key in steps[0]), (name, sorted(steps[0]))
    assert (run_dir / "reward_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run_dir / "recipe.yaml").is_file() and (run_dir / "train.log").is_file()
    swanlab_runs = list((run_dir / "swanlog").glob("run-*"))
    assert swanlab_runs and any(path.is_file() and path.stat().st_size > 0 for path in swanlab_runs[0].rglob("*"))
    assert all((run_dir / f"checkpoint-{step}" / COMPLETE_MARKER).is_file() for step in (1, 2))
    assert json.loads((run_dir / "result.json").read_text())["global_step"] == 2
    log = (run_dir / "train.log").read_text()
    for expected in ("Backend: trl", "Run summary", "trainable parameters", "Training L", "Sample at step 1",
                     "LoRA check:", "Evaluation on 4 held-out prompts"):
        assert expected in log, expected

    evaluation = json.loads((run_dir / "eval.json").read_text())
    assert [report["label"] for report in evaluation["reports"]] == ["before", "after"]
    assert all(report["n"] == 4 for report in evaluation["reports"])

    base_dir = embedded_model_path()
    tokenizer = AutoTokenizer.from_pretrained(run_dir / "lora")
    assert "<reasoning>" not in (tokenizer.chat_template or "")  # the saved tokenizer is the original one
    inputs = tokenizer(["Natalia sold clips to 48 of her friends."], return_tensors="pt")
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    with torch.no_grad():
        base_logits = base(**inputs).logits
    tuned = PeftModel.from_pretrained(base, run_dir / "lora")
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "merged_16bit", dtype=torch.float32)
    with torch.no_grad():
        lora_logits = tuned(**inputs).logits
        merged_logits = merged(**inputs).logits
    assert not torch.allclose(base_logits, lora_logits), "the LoRA does not change the model"
    # The merged model is saved in bfloat16: the bar is grpo_export's own for bf16 merges.
    top1_agreement = (lora_logits.argmax(-1) == merged_logits.argmax(-1)).float().mean().item()
    relative_error = ((lora_logits - merged_logits).norm() / lora_logits.norm()).item()
    assert top1_agreement >= 0.97 and relative_error <= 0.05, (top1_agreement, relative_error)


def test_phi4_gsm8k_demo_end_to_end(tmp_path: Path) -> None:
    run_dir = run_app("phi4_gsm8k", tmp_path)
    check_run_folder(run_dir, ["xmlcount", "soft_format", "strict_format", "integer", "correctness"])
    gguf_files = list((run_dir / "gguf").glob("*.gguf"))
    assert [path.name for path in gguf_files] == ["phi4_gsm8k.Q8_0.gguf"]
    assert (run_dir / "gguf" / "Modelfile").is_file()

    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(run_dir / "gguf", gguf_file=gguf_files[0].name)
    assert reloaded.config.vocab_size == 49152

    if find_chromium() is None:
        pytest.skip("Chromium not installed (apt-get install -y chromium): dashboard not opened")
    summary = check_dashboard(run_dir / "swanlog", tmp_path / "phi4_demo_dashboard.png", experiment_name="phi4_gsm8k-e2e")
    assert [step for step, _ in summary["reward_points"]] == [1, 2]


def test_r1_qwen3_dapo_id_demo_end_to_end(tmp_path: Path) -> None:
    run_dir = run_app("r1_qwen3_dapo_id", tmp_path, "--gguf")
    check_run_folder(run_dir, ["think_format_exact", "think_format_approx", "answer_check", "number_check", "language"])
    reports = json.loads((run_dir / "eval.json").read_text())["reports"]
    assert all(report["target_language"] == "id" and report["target_language_rate"] is not None for report in reports)
