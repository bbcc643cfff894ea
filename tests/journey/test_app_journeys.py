"""The user's journey, as a user runs it: an app's own recipe (not --demo) on the CPU (`--backend trl`) with the
model named on the command line, downloading the model and the data set from the Hub (the stand-in on
127.0.0.1, reached through HF_ENDPOINT with the real huggingface_hub and datasets clients), training two steps,
exporting merged 16-bit and a q8_0 GGUF, and pushing both to private repos with the token from HF_TOKEN.
The pushed repos are then downloaded and the merged model must generate the run's own greedy tokens.

One run per app (each a few minutes on 2 CPU cores); the `--set` values only make the tutorial recipe small
enough for a CPU (no 4-bit, no vLLM, 2 steps, short completions, few held-out rows).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from journey_env import TOKEN, online_env
from hub_repos import MODEL_REPO, serve_journey_repos

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CPU_SIZE = ["--backend", "trl", "--set", f"model.name={MODEL_REPO}", "--set", "model.load_in_4bit=false",
            "--set", "model.fast_inference=false", "--set", "grpo.use_vllm=false", "--set", "grpo.optim=adamw_torch",
            "--set", "lora.gradient_checkpointing=false", "--set", "grpo.max_steps=2",
            "--set", "grpo.num_generations=4", "--set", "grpo.per_device_train_batch_size=4",
            "--set", "grpo.max_completion_length=96", "--set", "grpo.learning_rate=2.0e-4",
            "--set", "data.eval_rows=4", "--set", "evaluation.max_new_tokens=24", "--set", "evaluation.batch_size=4"]
# As in the demo: a 135M model needs the format's first tag (and tutorial 1's worked example) to produce rewards
# that differ within a group in two steps; equal rewards give zero advantages and an adapter that did not train.
PHI4_CPU = ["--set", 'data.prefill="<reasoning>\\n"', "--set", "data.one_shot=true"]
R1_CPU = ["--set", 'data.prefill="<think>\\n"', "--set", "model.max_seq_length=512", "--set", "data.system_prompt=dapo_en",
          "--set", "rewards.funcs=[think_format_exact, think_format_approx, answer_check, number_check, "
                   f"{{name: language, params: {{target: id}}}}, {Path(__file__).parent / 'length_reward.py'}:completion_characters]"]

COMPARE = textwrap.dedent("""
    import json, sys, torch
    from huggingface_hub import snapshot_download
    from transformers import AutoModelForCausalLM, AutoTokenizer
    run_merged, repo, gguf_repo = sys.argv[1:4]
    pushed = snapshot_download(repo)
    gguf = snapshot_download(gguf_repo)
    def greedy(folder):
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        inputs = tokenizer(["Natalia sold clips to 48 of her friends. How many clips"], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=12, min_new_tokens=12, do_sample=False)
        return out[0, inputs["input_ids"].shape[1]:].tolist()
    import os
    print(json.dumps({"run": greedy(run_merged), "pushed": greedy(pushed), "gguf_files": sorted(os.listdir(gguf)),
                      "gguf_card": open(os.path.join(gguf, "README.md")).read()}))
""")


def run_journey(app: str, repo_id: str, tmp_path: Path, hub, *extra: str) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path / "runs"
    command = [sys.executable, str(REPO / "apps" / app / "train.py"), *CPU_SIZE, *extra,
               "--set", f"run.output_dir={out}", "--set", f"run.name={app}-journey",
               "--gguf", "q8_0", "--push-to-hub", repo_id, "--private"]
    # CI's 2 busy cores answer a 270 MB repo more slowly than the Hub answers anything: waits of 60 s, not 10 s
    env = online_env(hub.endpoint, tmp_path / "hf-home", HF_HUB_DOWNLOAD_TIMEOUT="60", HF_HUB_ETAG_TIMEOUT="60")
    done = subprocess.run(command, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, f"{app} failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return out / f"{app}-journey", done


def check_journey(run_dir: Path, done: subprocess.CompletedProcess, hub, repo_id: str, tmp_path: Path,
                  data_file: str, gguf_name: str) -> None:
    # downloaded from the Hub: the data set once, the weights once (the export's merge reads the Hub cache)
    assert hub.gets_of(data_file), "the data set was not downloaded from the Hub"
    assert len(hub.gets_of("model.safetensors")) == 1, [r["path"] for r in hub.gets_of("model.safetensors")]
    assert "Backend: trl" in done.stdout + done.stderr and "switches to the CPU demo" not in done.stderr

    # pushed, private, with the token from HF_TOKEN
    merged_repo, gguf_repo = hub.repos[repo_id], hub.repos[f"{repo_id}-GGUF"]
    assert merged_repo.private and gguf_repo.private
    assert merged_repo.files["model.safetensors"] == (run_dir / "merged_16bit" / "model.safetensors").read_bytes()
    assert gguf_name in gguf_repo.files and "README.md" in gguf_repo.files

    # the pushed repos, downloaded as a user downloads them, hold the run's model
    compare = subprocess.run([sys.executable, "-c", COMPARE, str(run_dir / "merged_16bit"), repo_id, f"{repo_id}-GGUF"],
                             env=online_env(hub.endpoint, tmp_path / "hf-home-reader"), capture_output=True,
                             text=True, timeout=600)
    assert compare.returncode == 0, compare.stderr[-4000:]
    seen = json.loads(compare.stdout.strip().splitlines()[-1])
    assert seen["pushed"] == seen["run"] and len(seen["run"]) == 12
    assert gguf_name in seen["gguf_files"] and "library_name: gguf" in seen["gguf_card"]

    # the token: used, never written or printed
    assert any(r["headers"].get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
    assert TOKEN not in done.stdout + done.stderr
    leaks = [p for p in run_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert all(TOKEN.encode() not in data for repo in hub.repos.values() for data in repo.files.values())


def test_phi4_gsm8k_journey_downloads_trains_exports_and_pushes(tmp_path: Path) -> None:
    from hub_standin import HubStandIn

    with HubStandIn() as hub:
        hub.token = TOKEN
        serve_journey_repos(hub)
        repo_id = "tester/phi4-gsm8k-grpo"
        run_dir, done = run_journey("phi4_gsm8k", repo_id, tmp_path, hub, *PHI4_CPU)
        check_journey(run_dir, done, hub, repo_id, tmp_path, "train-00000-of-00001.parquet",
                      "phi4_gsm8k.Q8_0.gguf")

        # a second push into the same repo is refused without --allow-existing, and says so in one line
        env = online_env(hub.endpoint, tmp_path / "hf-home")
        push = [sys.executable, "-m", "grpo_export", "push", str(run_dir / "merged_16bit"), repo_id, "--private"]
        again = subprocess.run(push, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode != 0 and again.stderr.startswith("error: ") and "already holds" in again.stderr
        assert len(hub.repos[repo_id].commits) == 1
        allowed = subprocess.run([*push, "--allow-existing"], env=env, capture_output=True, text=True, timeout=300)
        assert allowed.returncode == 0, allowed.stderr[-3000:]
        assert len(hub.repos[repo_id].commits) == 2


def test_r1_qwen3_dapo_id_journey_downloads_trains_exports_and_pushes(tmp_path: Path) -> None:
    from hub_standin import HubStandIn

    with HubStandIn() as hub:
        hub.token = TOKEN
        serve_journey_repos(hub)
        repo_id = "tester/r1-dapo-id-grpo"
        run_dir, done = run_journey("r1_qwen3_dapo_id", repo_id, tmp_path, hub, *R1_CPU)
        check_journey(run_dir, done, hub, repo_id, tmp_path, "train-00000-of-00001.parquet",
                      "r1_qwen3_dapo_id.Q8_0.gguf")
        assert any("DAPO-Math-17k-Processed" in r["path"] for r in hub.gets_of("train-00000-of-00001.parquet"))
