"""The trl backend under `accelerate launch`: two CPU processes (gloo) train a tiny model, then resume.

This guards the distributed code path in CI: one run folder although its default name is
timestamped, files written once (metrics rows, checkpoint markers, SwanLab run), both processes
in each checkpoint (one RNG state per rank), a LoRA that loads, and a resume to a later step.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grpo_training.run.trainer_checkpoints import COMPLETE_MARKER
from grpo_training.cli.launch import ACCELERATE_CONFIGS, accelerate_config_path, build_launch_command
from grpo_training.run.monitoring import read_metrics
from grpo_training.run.lora import verify_lora_trained
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

REPO = Path(__file__).resolve().parents[2]


def launch(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "grpo_training", "launch", "--cpu", "--num-processes", "2",
               "--main-process-port", "0", *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return done


def test_packaged_accelerate_configs_parse_and_name_their_engine():
    from accelerate.commands.config.config_args import load_config_from_file

    engines = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED"}
    for name in ACCELERATE_CONFIGS:
        config = load_config_from_file(str(accelerate_config_path(name)))
        assert config.distributed_type.value == engines[name], name
        assert config.mixed_precision == "no"  # the recipe's grpo.bf16 decides
    assert load_config_from_file(str(accelerate_config_path("zero3"))).deepspeed_config["zero3_save_16bit_model"]


def test_launch_command_and_its_mistakes(tmp_path, capsys):
    from grpo_training.cli.main import main

    argv, env = build_launch_command(4, "fsdp", ["r.yaml", "--set", "grpo.max_steps=2"], main_process_port=0)
    assert argv[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert argv[4] == str(accelerate_config_path("fsdp")) and Path(argv[4]).is_file()
    assert argv[5:] == ["--num_processes", "4", "--main_process_port", "0", "-m", "grpo_training", "train", "r.yaml",
                        "--set", "grpo.max_steps=2"]
    assert env.get("ACCELERATE_USE_CPU") == os.environ.get("ACCELERATE_USE_CPU")  # only --cpu sets it

    assert main(["launch", "--num-processes", "2", "--config", "nope", "--dry-run"]) == 2
    assert "neither a packaged config" in capsys.readouterr().err
    assert main(["launch", "--num-processes", "0", "--dry-run"]) == 2
    assert main(["launch", "--num-processes", "2", "--dry-run", "--set", "grpo.no_such_field=1"]) == 2
    assert "grpo.no_such_field" in capsys.readouterr().err
    assert main(["launch", "--num-processes", "2", "--cpu", "--dry-run", "--set", "grpo.max_steps=3"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.startswith("ACCELERATE_USE_CPU=true ACCELERATE_TORCH_DEVICE=cpu ") and "ddp.yaml --num_processes 2 -m grpo_training train" in printed
    assert printed.endswith("--set grpo.max_steps=3")


def _make_run_dir_on_this_rank(output_dir: str, results_dir: str) -> None:
    import time

    from accelerate.state import AcceleratorState, PartialState

    # debug_launcher forks this test process: forget the accelerate state an earlier test left in it, as a rank
    # started by `accelerate launch` or torchrun begins without one
    AcceleratorState._reset_state(reset_partial_state=True)
    PartialState._reset_state()

    from grpo_training import distributed
    from grpo_training.recipe import Recipe
    from grpo_training.run.folders import make_shared_run_dir

    rank = distributed.process_index()
    real_strftime = time.strftime
    # Each process stamps its own time (as processes started seconds apart would): the names would differ.
    time.strftime = lambda fmt, *rest: f"{real_strftime(fmt, *rest)}-rank{rank}"
    recipe = Recipe(source_path="timestamped.yaml")
    recipe.run.output_dir = output_dir
    run_dir = make_shared_run_dir(recipe)
    (Path(results_dir) / f"rank{rank}.txt").write_text(f"{run_dir}\n{recipe.run.name}")


def test_every_process_gets_the_folder_the_main_process_made(tmp_path):
    from accelerate import debug_launcher

    (tmp_path / "results").mkdir()
    debug_launcher(_make_run_dir_on_this_rank, args=(str(tmp_path / "runs"), str(tmp_path / "results")))
    answers = {path.name: path.read_text().splitlines() for path in (tmp_path / "results").iterdir()}
    assert len(answers) == 2 and answers["rank0.txt"] == answers["rank1.txt"], answers
    run_dir, name = answers["rank0.txt"]
    assert name.endswith("-rank0") and [p.name for p in (tmp_path / "runs").iterdir()] == [name]


@pytest.mark.slow
def test_two_cpu_processes_train_once_and_resume(tmp_path):
    model_dir = build_tiny_model(tmp_path / "tiny")
    output_dir = tmp_path / "runs"
    recipe = tiny_recipe(model_dir, output_dir, grpo={"save_steps": 1, "per_device_train_batch_size": 4},
                         run={"name": None, "report_to": "swanlab", "swanlab_mode": "local"})
    recipe_path = write_recipe(recipe, tmp_path / "tiny_distributed.yaml")

    done = launch(str(recipe_path))

    # One folder, although each process would have stamped its own default name.
    folders = list(output_dir.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("tiny_distributed-"), folders
    run_dir = folders[0]
    assert f"run folder: {run_dir}" in done.stdout and done.stdout.count("run folder:") == 1
    log = (run_dir / "train.log").read_text()
    assert "batch 8 = 4 per device x 1 accumulation x 2 devices" in log and "2 processes" in log
    assert log.count("Run summary") == 1

    # metrics.jsonl: one row per step, written by one process.
    assert [row["step"] for row in read_metrics(run_dir / "metrics.jsonl")] == [1, 2]
    # Checkpoints: written once, marked once, each holding both processes' RNG state.
    for step in (1, 2):
        checkpoint = run_dir / f"checkpoint-{step}"
        assert (checkpoint / COMPLETE_MARKER).is_file()
        assert sorted(p.name for p in checkpoint.glob("rng_state*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    # One SwanLab run for the two processes.
    assert len(list((run_dir / "swanlog").glob("run-*"))) == 1
    assert (run_dir / "reward_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert yaml.safe_load((run_dir / "recipe.yaml").read_text())["run"]["name"] == run_dir.name

    # The LoRA was trained and loads onto the base model.
    assert verify_lora_trained(run_dir / "lora") > 0
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir), run_dir / "lora")
    assert any("lora_B" in name for name, _ in loaded.named_parameters())

    # Resume under two processes: from checkpoint-2 to step 3, in the same folder.
    launch("--resume", str(run_dir), "--set", "grpo.max_steps=3")
    assert list(output_dir.iterdir()) == [run_dir]
    log = (run_dir / "train.log").read_text()
    assert "Resume: from checkpoint-2 (step 2)" in log
    assert [row["step"] for row in read_metrics(run_dir / "metrics.jsonl")] == [1, 2, 3]
    assert (run_dir / "checkpoint-3" / COMPLETE_MARKER).is_file()
    assert len(list((run_dir / "swanlog").glob("run-*"))) == 2  # one per launch, not one per process


def test_global_batch_and_backend_count_every_process(monkeypatch, tmp_path):
    from grpo_training.model.backends import select_backend
    from grpo_training.recipe import Recipe
    from grpo_training.recipe.grpo_args import plan_grpo_args
    from grpo_training.recipe.lengths import GRPOLengths

    recipe = Recipe(grpo={"num_generations": 4, "per_device_train_batch_size": 2})

    def per_device() -> int:
        plan = plan_grpo_args(recipe, output_dir=str(tmp_path), lengths=GRPOLengths(512, 64), cuda=False)
        return plan.kwargs["per_device_train_batch_size"]

    assert per_device() == 4  # one process: 2 prompts' worth of rows would split a group of 4
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert per_device() == 2  # two processes x 2 = one whole group of 4: the 1-GPU global batch is kept
    choice = select_backend("auto", log=False)
    assert choice.name == "trl" and "2 processes" in choice.reason
