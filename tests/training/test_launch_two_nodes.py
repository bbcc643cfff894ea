"""Two machines on loopback: the multi-node command of the README, run as two `launch` processes.

Each plays one machine (`--num-machines 2 --machine-rank 0|1`, rendezvous on 127.0.0.1), with one CPU process
(gloo) each, and together they train the embedded model for two steps of the demo recipe, shrunk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grpo_training.run.trainer_checkpoints import COMPLETE_MARKER
from grpo_training.recipe import DEMO_RECIPE
from grpo_training.cli.launch import build_launch_command
from grpo_training.cli.launch_vllm import stop_process_tree
from grpo_training.run.monitoring import read_metrics
from grpo_training.run.lora import verify_lora_trained

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300

# The demo's format rewards are constant on completions this short (no tag closes), so every advantage would be
# 0 and the run would rightly refuse the untrained LoRA; a reward that differs between any two completions
# keeps the two steps honest.
LENGTH_REWARD = '''
def completion_characters(completions, **kwargs):
    return [len(completion[0]["content"]) / 100 for completion in completions]
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def two_node_recipe(folder: Path) -> Path:
    recipe = yaml.safe_load(Path(DEMO_RECIPE).read_text())
    recipe["grpo"].update(max_steps=2, save_steps=2, num_generations=2, per_device_train_batch_size=2,
                          max_completion_length=8)
    recipe["lora"].update(r=4, alpha=4, target_modules=["q_proj", "v_proj"])
    recipe["data"].update(synthetic_rows=8, eval_rows=0, one_shot=False)
    recipe["rewards"]["funcs"] = ["xmlcount", "length_reward.py:completion_characters"]
    recipe["run"].update(output_dir=str(folder / "runs"), name="two_nodes", report_to="none",
                         log_completions_every=0)
    (folder / "length_reward.py").write_text(LENGTH_REWARD)
    path = folder / "two_nodes.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_the_multi_node_command_line_reaches_accelerate(tmp_path):
    from accelerate.commands.launch import launch_command_parser

    argv, _ = build_launch_command(4, "ddp", ["r.yaml"], num_machines=2, machine_rank=1,
                                   main_process_ip="10.0.0.1", main_process_port=29555)
    assert argv[5:] == ["--num_processes", "4", "--num_machines", "2", "--machine_rank", "1", "--main_process_ip",
                        "10.0.0.1", "--main_process_port", "29555", "-m", "grpo_training", "train", "r.yaml"]
    parsed = launch_command_parser().parse_args(argv[3:])
    assert (parsed.num_processes, parsed.num_machines, parsed.machine_rank, parsed.main_process_ip,
            parsed.main_process_port) == (4, 2, 1, "10.0.0.1", 29555)
    assert parsed.module and parsed.training_script == "grpo_training"
    assert parsed.training_script_args == ["train", "r.yaml"]


@pytest.mark.parametrize(("options", "message"), [
    (["--num-machines", "2", "--machine-rank", "0", "--main-process-port", "29555"], "needs --main-process-ip"),
    (["--num-machines", "2", "--main-process-ip", "127.0.0.1", "--main-process-port", "0"],
     "fixed --main-process-port"),
    (["--num-machines", "2", "--machine-rank", "2", "--main-process-ip", "127.0.0.1", "--main-process-port", "1"],
     "--machine-rank 2: expected 0..1"),
    (["--num-processes", "3", "--num-machines", "2", "--main-process-ip", "127.0.0.1", "--main-process-port", "1"],
     "multiple of --num-machines 2"),
])
def test_multi_node_mistakes_are_one_error_line(options, message, capsys):
    from grpo_training.cli.main import main

    base = [] if "--num-processes" in options else ["--num-processes", "2"]
    assert main(["launch", *base, *options, "--cpu", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


@pytest.mark.slow
def test_two_machines_on_loopback_train_the_embedded_model(tmp_path):
    recipe = two_node_recipe(tmp_path)
    port = str(free_port())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    machines = []
    try:
        for rank in (0, 1):
            command = [sys.executable, "-m", "grpo_training", "launch", "--cpu", "--num-processes", "2",
                       "--num-machines", "2", "--machine-rank", str(rank), "--main-process-ip", "127.0.0.1",
                       "--main-process-port", port, str(recipe)]
            with (tmp_path / f"machine{rank}.log").open("w") as log:
                machines.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while any(machine.poll() is None for machine in machines) and time.monotonic() < deadline:
            if any(machine.poll() not in (None, 0) for machine in machines):
                break  # one failed: the other would wait for it until the rendezvous times out
            time.sleep(0.5)
    finally:
        for machine in machines:
            stop_process_tree(machine, grace_seconds=0)  # torchrun's workers run in sessions of their own
    logs = {rank: (tmp_path / f"machine{rank}.log").read_text() for rank in (0, 1)}
    assert [machine.returncode for machine in machines] == [0, 0], "\n".join(
        f"--- machine {rank} (exit {machines[rank].returncode})\n{logs[rank][-5000:]}" for rank in logs)

    run_dir = tmp_path / "runs" / "two_nodes"
    assert list((tmp_path / "runs").iterdir()) == [run_dir]
    assert f"run folder: {run_dir}" in logs[0] and "run folder:" not in logs[1]  # machine 0 holds global rank 0
    train_log = (run_dir / "train.log").read_text()
    assert "2 processes" in train_log and "batch 4 = 2 per device x 1 accumulation x 2 devices" in train_log
    assert [row["step"] for row in read_metrics(run_dir / "metrics.jsonl")] == [1, 2]
    checkpoint = run_dir / "checkpoint-2"
    assert (checkpoint / COMPLETE_MARKER).is_file()
    assert sorted(p.name for p in checkpoint.glob("rng_state*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert verify_lora_trained(run_dir / "lora") > 0
