"""`launch --vllm`: the commands of TRL's colocate and server modes, built and checked without a GPU.

The server command is parsed by TRL 1.14.2's own `trl vllm-serve` parser and the training command by accelerate's
launch parser; the training arguments pass `train --check`. The supervision of the two processes runs on real
processes standing in for the server and the trainer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from grpo_training.cli.launch import ACCELERATE_CONFIGS_DIR, build_parser, build_vllm_commands
from grpo_training.cli.launch_vllm import run_with_server, split_gpus

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def commands_for(*argv: str) -> dict:
    args, train_args = build_parser().parse_known_args(list(argv))
    return build_vllm_commands(args, train_args)


def test_server_mode_runs_trl_vllm_serve_on_its_gpu_and_accelerate_on_the_others(monkeypatch, tmp_path):
    from accelerate.commands.launch import launch_command_parser
    from trl.scripts.vllm_serve import build_command, make_parser

    from grpo_training.embedded import embedded_model_path
    from grpo_training.cli.train import build_train_parser, load_train_recipe, main_train

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    commands = commands_for("--num-processes", "3", "--vllm", "server", "--server-gpus", "3", "--server-port", "8011",
                            "--set", "grpo.max_steps=2")
    assert list(commands) == ["server", "training"]
    model = str(embedded_model_path())  # the demo recipe names no model

    server_argv, server_env = commands["server"]
    assert server_argv == [sys.executable, "-m", "trl.cli.main", "vllm-serve", "--model", model,
                           "--tensor-parallel-size", "1", "--host", "127.0.0.1", "--port", "8011",
                           "--max-model-len", "608"]  # demo: max_seq_length 512 + max_completion_length 96
    assert server_env["CUDA_VISIBLE_DEVICES"] == "3"
    # TRL's own parser reads every flag (nothing left over for `vllm serve`) into the values meant.
    served, extra = make_parser(prog="trl vllm-serve").parse_args_and_config(
        args=server_argv[4:], return_remaining_strings=True)
    assert extra == []
    assert (served.model, served.tensor_parallel_size, served.host, served.port, served.max_model_len) == (
        model, 1, "127.0.0.1", 8011, 608)
    vllm_serve = build_command(served)
    assert vllm_serve[vllm_serve.index("--tensor-parallel-size") + 1] == "1"

    training_argv, training_env = commands["training"]
    train_args = ["--set", "grpo.max_steps=2", "--set", "grpo.use_vllm=true", "--set", "grpo.vllm_mode=server",
                  "--set", "grpo.vllm_max_model_length=608", "--set", "grpo.vllm_server_host=127.0.0.1",
                  "--set", "grpo.vllm_server_port=8011", "--backend", "trl"]
    assert training_argv == [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                             str(ACCELERATE_CONFIGS_DIR / "ddp.yaml"), "--num_processes", "3",
                             "-m", "grpo_training", "train", *train_args]
    assert training_env["CUDA_VISIBLE_DEVICES"] == "0,1,2"
    launched = launch_command_parser().parse_args(training_argv[3:])
    assert launched.num_processes == 3 and launched.training_script_args == ["train", *train_args]

    assert main_train([*train_args, "--check"]) == 0
    recipe = load_train_recipe(build_train_parser().parse_args(train_args))
    assert {key: recipe.grpo[key] for key in ("use_vllm", "vllm_mode", "vllm_server_host", "vllm_server_port")} == {
        "use_vllm": True, "vllm_mode": "server", "vllm_server_host": "127.0.0.1", "vllm_server_port": 8011}
    assert recipe.run.backend == "trl"


def test_trl_vllm_serve_is_reachable_through_this_python():
    done = subprocess.run([sys.executable, "-m", "trl.cli.main", "vllm-serve", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--tensor_parallel_size" in done.stdout or "--tensor-parallel-size" in done.stdout


def test_colocate_mode_sets_the_recipe_fields_and_keeps_every_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    commands = commands_for("--num-processes", "2", "--vllm", "colocate", "--set", "grpo.vllm_tensor_parallel_size=2")
    assert list(commands) == ["training"]
    argv, env = commands["training"]
    assert argv[argv.index("train") + 1:] == ["--set", "grpo.vllm_tensor_parallel_size=2", "--set",
                                              "grpo.use_vllm=true", "--set", "grpo.vllm_mode=colocate",
                                              "--set", "grpo.vllm_max_model_length=608", "--backend", "trl"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_gpu_split_counts_the_visible_gpus():
    assert split_gpus(1, [0], None) == ("0", "1")
    assert split_gpus(2, [0, 1], None) == ("0,1", "2,3")
    assert split_gpus(2, [5], None) == ("5", "0,1")
    assert split_gpus(3, [1], "4,5,6,7") == ("5", "4,6,7")
    with pytest.raises(ValueError, match="shows 2 GPUs"):
        split_gpus(2, [0], "6,7")


@pytest.mark.parametrize(("options", "message"), [
    (["--vllm", "server"], "--vllm server needs --server-gpus"),
    (["--vllm", "colocate", "--cpu"], "--vllm colocate needs GPUs; drop --cpu"),
    (["--server-gpus", "1"], "--server-gpus is for --vllm server"),
    (["--vllm", "colocate", "--server-gpus", "1"], "--server-gpus is for --vllm server"),
    (["--vllm", "server", "--server-gpus", "1", "--set", "grpo.vllm_mode=colocate"],
     "--set grpo.vllm_mode=colocate: --vllm server sets this itself"),
    (["--vllm", "server", "--server-gpus", "1", "--num-machines", "2", "--main-process-ip", "10.0.0.1",
      "--main-process-port", "29500"], "--vllm server runs on one machine"),
    (["--vllm", "server", "--server-gpus", "a"], "--server-gpus 'a': expected GPU numbers"),
    (["--vllm", "colocate", "--backend", "unsloth"], "on the trl backend"),
    (["--vllm", "colocate", "--set", "grpo.vllm_tensor_parallel_size=4"], "must divide --num-processes 2"),
])
def test_vllm_mistakes_are_one_error_line(options, message, monkeypatch, capsys):
    from grpo_training.cli.main import main

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert main(["launch", "--num-processes", "2", *options, "--dry-run"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], errors


def test_dry_run_prints_both_commands_with_their_gpus(monkeypatch, capsys):
    from grpo_training.cli.main import main

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert main(["launch", "--num-processes", "1", "--vllm", "server", "--server-gpus", "1", "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-4:]
    assert lines[0] == "# server" and lines[1].startswith("CUDA_VISIBLE_DEVICES=1 ") and " vllm-serve " in lines[1]
    assert lines[2] == "# training" and lines[3].startswith("CUDA_VISIBLE_DEVICES=0 ")
    assert "--num_processes 1 -m grpo_training train" in lines[3]


def test_the_server_is_stopped_when_training_ends(tmp_path):
    marker = tmp_path / "server.pid"
    server = [sys.executable, "-c", f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); "
              "time.sleep(120)"]
    trainer = [sys.executable, "-c", f"import os, time, sys\nwhile not os.path.exists({str(marker)!r}): "
               "time.sleep(0.05)\nsys.exit(3)"]
    started = time.monotonic()
    env = dict(os.environ)
    assert run_with_server((server, env), (trainer, env), poll_seconds=0.05, grace_seconds=5) == 3
    assert time.monotonic() - started < 60
    server_pid = int(marker.read_text())
    assert not psutil.pid_exists(server_pid)  # stopped and reaped


def test_a_server_that_dies_stops_training(capsys):
    started = time.monotonic()
    env = dict(os.environ)
    dying_server = [sys.executable, "-c", "raise SystemExit(5)"]
    assert run_with_server((dying_server, env), (SLEEPER, env), poll_seconds=0.05, grace_seconds=5) == 1
    assert time.monotonic() - started < 60
    assert "error: the vLLM server exited with status 5 before training ended" in capsys.readouterr().err


def test_a_resumed_run_that_trained_without_vllm_is_refused_before_anything_starts(tmp_path, capsys):
    from grpo_training.cli.main import main
    from grpo_training.recipe import DEMO_RECIPE

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "recipe.yaml").write_text(Path(DEMO_RECIPE).read_text())
    assert main(["launch", "--num-processes", "2", "--vllm", "colocate", "--resume", str(run_dir), "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert "error: grpo.use_vllm: cannot change on resume" in captured.err and "# training" not in captured.out
