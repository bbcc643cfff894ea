"""Rollouts through vLLM under `launch`: TRL 1.14.2's two vLLM modes, chosen with `--vllm`.

    python -m grpo_training launch --num-processes 2 --vllm colocate RECIPE.yaml
    python -m grpo_training launch --num-processes 3 --vllm server --server-gpus 3 RECIPE.yaml

`colocate`: every training process starts its own vLLM engine on its own GPU (GRPOConfig `use_vllm=True`,
`vllm_mode="colocate"`). Its share of the GPU (`grpo.vllm_gpu_memory_utilization`, TRL's default 0.3) and
`grpo.vllm_tensor_parallel_size` (which must divide the number of processes) stay recipe fields.

`server`: two processes, each with its own GPUs (`CUDA_VISIBLE_DEVICES`). `trl vllm-serve` serves the recipe's
base model on the `--server-gpus` (tensor parallel over all of them) and `accelerate launch` trains on the
next `--num-processes` GPUs with `vllm_mode="server"`; the main training process sends the prompts to the
server and pushes the updated weights into it after each optimisation step. `launch` starts both, waits
for training to end and then stops the server (or stops training if the server dies first). In TRL 1.14.2
`trl vllm-serve` runs `vllm serve` with the flags TRL's client needs (weight transfer over NCCL, processed
logprobs) and warns that it is deprecated in favour of that direct call.

Both modes train on the trl backend, and `--backend unsloth` stays refused under several processes.
Unsloth's documentation (https://unsloth.ai/docs/basics/multi-gpu-training-with-unsloth and its DDP guide)
runs DDP through `accelerate launch` with a supervised fine-tuning example; its maintainers answer that
multi-GPU GRPO works in recent releases, but no GRPO + vLLM (`fast_inference`) example is given, a user
reports that combination hanging under the DDP guide, and Unsloth's vLLM engine shares memory with the model
inside one process. Nothing here has run Unsloth under DDP, so it is not offered.

Example:
    >>> split_gpus(3, [3], visible=None)
    ('3', '0,1,2')
    >>> split_gpus(2, [0], visible="4,5,6,7")
    ('4', '5,6')
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

VLLM_MODES = ("colocate", "server")
SERVER_HOST = "127.0.0.1"  # the server runs beside the main training process, which alone talks to it
# Set by --vllm; a `--set` of one of them beside --vllm would contradict it.
VLLM_FIELDS = ("use_vllm", "vllm_mode", "vllm_server_host", "vllm_server_port", "vllm_server_base_url")


def parse_gpu_list(text: str) -> list[int]:
    """`--server-gpus` ("3" or "2,3") as GPU numbers.

    Example:
        >>> parse_gpu_list("2,3")
        [2, 3]
    """
    try:
        gpus = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--server-gpus {text!r}: expected GPU numbers separated by commas, e.g. 3 or 2,3") from None
    if not gpus or len(set(gpus)) != len(gpus) or min(gpus) < 0:
        raise ValueError(f"--server-gpus {text!r}: expected distinct GPU numbers >= 0, e.g. 3 or 2,3")
    return gpus


def split_gpus(num_processes: int, server_gpus: list[int], visible: str | None) -> tuple[str, str]:
    """`CUDA_VISIBLE_DEVICES` for the server and for training: the server on `server_gpus`, training on the first
    `num_processes` GPUs not among them. GPU numbers count the GPUs this shell sees: the entries of its
    `CUDA_VISIBLE_DEVICES` (`visible`) when set, else the machine's GPUs 0, 1, ...

    Raises:
        ValueError: a server GPU beyond the visible ones, or too few visible GPUs for both.
    """
    needed = num_processes + len(server_gpus)
    names = [name.strip() for name in visible.split(",") if name.strip()] if visible else None
    if names is not None and (len(names) < needed or max(server_gpus) >= len(names)):
        raise ValueError(f"CUDA_VISIBLE_DEVICES={visible} shows {len(names)} GPUs; --server-gpus "
                         f"{','.join(map(str, server_gpus))} with --num-processes {num_processes} needs {needed} "
                         "(GPU numbers count the visible GPUs from 0)")
    training = [gpu for gpu in range(max(needed, max(server_gpus) + 1)) if gpu not in server_gpus][:num_processes]
    name = (lambda gpu: names[gpu]) if names is not None else str
    return ",".join(name(gpu) for gpu in server_gpus), ",".join(name(gpu) for gpu in training)


def vllm_max_model_length(recipe: Any) -> int:
    """The context vLLM needs: the recipe's `grpo.vllm_max_model_length` when set, else `model.max_seq_length`
    (the prompt + completion budget), plus `grpo.max_completion_length` when the recipe fixes that one
    (prompts then keep up to max_seq_length of their own).

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> vllm_max_model_length(Recipe()), vllm_max_model_length(Recipe(grpo={"max_completion_length": 96}))
        (512, 608)
    """
    if recipe.grpo.get("vllm_max_model_length"):
        return int(recipe.grpo["vllm_max_model_length"])
    return recipe.model.max_seq_length + int(recipe.grpo.get("max_completion_length") or 0)


def vllm_train_overrides(mode: str, recipe: Any, *, server_port: int | None = None) -> list[str]:
    """The `--set` overrides that turn TRL's vLLM mode on for `train`.

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> vllm_train_overrides("server", Recipe(), server_port=8001)  # doctest: +NORMALIZE_WHITESPACE
        ['grpo.use_vllm=true', 'grpo.vllm_mode=server', 'grpo.vllm_max_model_length=512',
         'grpo.vllm_server_host=127.0.0.1', 'grpo.vllm_server_port=8001']
    """
    if mode not in VLLM_MODES:
        raise ValueError(f"--vllm {mode!r}: expected one of {', '.join(VLLM_MODES)}")
    overrides = ["grpo.use_vllm=true", f"grpo.vllm_mode={mode}",
                 f"grpo.vllm_max_model_length={vllm_max_model_length(recipe)}"]
    if mode == "server":
        overrides += [f"grpo.vllm_server_host={SERVER_HOST}", f"grpo.vllm_server_port={server_port}"]
    return overrides


def conflicting_overrides(train_args: list[str]) -> list[str]:
    """The user's `--set grpo.<field>=...` that `--vllm` sets itself.

    Example:
        >>> conflicting_overrides(["r.yaml", "--set", "grpo.vllm_mode=server", "--set", "grpo.max_steps=2"])
        ['grpo.vllm_mode=server']
    """
    values = [value for flag, value in zip(train_args, train_args[1:]) if flag == "--set"]
    values += [arg.split("=", 1)[1] for arg in train_args if arg.startswith("--set=")]
    return [value for value in values if value.split("=", 1)[0].strip() in {f"grpo.{name}" for name in VLLM_FIELDS}]


def build_server_command(model: str, server_gpus: str, *, port: int, max_model_len: int,
                         tensor_parallel_size: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The `trl vllm-serve` argv (through this Python) and its environment (the server's GPUs only).

    Example:
        >>> argv, env = build_server_command("Qwen/Qwen3-8B", "2,3", port=8000, max_model_len=4096)
        >>> argv[1:]  # doctest: +NORMALIZE_WHITESPACE
        ['-m', 'trl.cli.main', 'vllm-serve', '--model', 'Qwen/Qwen3-8B', '--tensor-parallel-size', '2',
         '--host', '127.0.0.1', '--port', '8000', '--max-model-len', '4096']
        >>> env["CUDA_VISIBLE_DEVICES"]
        '2,3'
    """
    size = tensor_parallel_size or len(server_gpus.split(","))
    argv = [sys.executable, "-m", "trl.cli.main", "vllm-serve", "--model", model,
            "--tensor-parallel-size", str(size), "--host", SERVER_HOST, "--port", str(port),
            "--max-model-len", str(max_model_len)]
    return argv, {**os.environ, "CUDA_VISIBLE_DEVICES": server_gpus}


def stop_process_tree(process: subprocess.Popen, grace_seconds: float) -> None:
    """SIGTERM to `process` and every process below it, SIGKILL to those left after `grace_seconds`.

    The whole tree, found by parent links (psutil, which accelerate requires): torchrun starts each worker in a
    session of its own, so signalling the launcher's process group would miss them.
    """
    import psutil

    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in tree:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(tree, timeout=grace_seconds)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    process.poll()


def run_with_server(server: tuple[list[str], dict[str, str]], trainer: tuple[list[str], dict[str, str]], *,
                    poll_seconds: float = 1.0, grace_seconds: float = 30.0) -> int:
    """Start the server and the training command (each in a process group of its own), return training's exit
    status once it ends, and stop the server then. A server that exits first stops training (status 1).
    Ctrl-C or SIGTERM to `launch` stops both.
    """
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    processes: list[subprocess.Popen] = []
    try:
        processes.append(subprocess.Popen(server[0], env=server[1], start_new_session=True))
        processes.append(subprocess.Popen(trainer[0], env=trainer[1], start_new_session=True))
        server_process, training = processes
        while (status := training.poll()) is None:
            if server_process.poll() is not None:
                print(f"error: the vLLM server exited with status {server_process.returncode} before training "
                      "ended (its output is above); training is stopped", file=sys.stderr)
                return 1
            time.sleep(poll_seconds)
        return status
    finally:
        for process in reversed(processes):
            stop_process_tree(process, grace_seconds)
        signal.signal(signal.SIGTERM, previous)
