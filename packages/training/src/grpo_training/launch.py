"""One command for N GPUs: `python -m grpo_training launch` runs `accelerate launch` on a packaged config.

    python -m grpo_training launch --num-processes 2 RECIPE.yaml [--set ...]            # DDP
    python -m grpo_training launch --num-processes 4 --config fsdp RECIPE.yaml          # FSDP2
    python -m grpo_training launch --num-processes 2 --cpu RECIPE.yaml                  # CPU processes (gloo)

becomes (and is replaced by, via exec)

    accelerate launch --config_file <grpo_training>/accelerate_configs/ddp.yaml --num_processes 2 \\
        -m grpo_training train RECIPE.yaml [--set ...]

Everything after the launch options goes to `train` unchanged. `--cpu` sets `ACCELERATE_USE_CPU=true`
for the processes instead of passing accelerate's own `--cpu`: that flag selects accelerate's single-process
launcher (it expects mpirun for several CPU processes), whereas the config's launcher (torchrun) starts N.
It also sets `ACCELERATE_TORCH_DEVICE=cpu` (see `CPU_ENV`).

Example:
    >>> argv, env = build_launch_command(2, "ddp", ["demo.yaml"], cpu=True)
    >>> argv[argv.index("--num_processes") + 1], argv[-2:], env["ACCELERATE_USE_CPU"]
    ('2', ['train', 'demo.yaml'], 'true')
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

ACCELERATE_CONFIGS_DIR = Path(__file__).parent / "accelerate_configs"
# CPU processes: accelerate's CPU mode, on the device "cpu". Left alone, accelerate names it "cpu:<n>",
# which torch.load cannot map to, so resuming a checkpoint (the Trainer maps the optimizer state to the
# process's device when there are several) would fail.
CPU_ENV = {"ACCELERATE_USE_CPU": "true", "ACCELERATE_TORCH_DEVICE": "cpu"}
ACCELERATE_CONFIGS = {
    "ddp": "ddp.yaml",
    "fsdp": "fsdp.yaml",
    "zero2": "zero2.yaml",
    "zero3": "zero3.yaml",
}


def accelerate_config_path(config: str) -> Path:
    """A packaged config by name (ddp, fsdp, zero2, zero3), or a path to your own accelerate config file.

    Example:
        >>> accelerate_config_path("fsdp").name
        'fsdp.yaml'
    """
    if config in ACCELERATE_CONFIGS:
        return ACCELERATE_CONFIGS_DIR / ACCELERATE_CONFIGS[config]
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"--config {config}: neither a packaged config ({', '.join(ACCELERATE_CONFIGS)}) "
                                "nor an existing accelerate config file")
    return path


def build_launch_command(
    num_processes: int,
    config: str = "ddp",
    train_args: list[str] | None = None,
    *,
    cpu: bool = False,
    main_process_port: int | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The `accelerate launch ... -m grpo_training train ...` argv and the environment to run it with.

    Args:
        num_processes: processes to start (one per GPU).
        config: a packaged config name or an accelerate config file.
        train_args: arguments for `python -m grpo_training train` (recipe, --set, --resume, --backend).
        cpu: run CPU processes that talk over gloo (tests, machines without GPUs).
        main_process_port: rendezvous port; 0 picks a free one (default: the config's, else 29500).
    """
    if num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {num_processes}")
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config_path(config)),
            "--num_processes", str(num_processes)]
    if main_process_port is not None:
        argv += ["--main_process_port", str(main_process_port)]
    argv += ["-m", "grpo_training", "train", *(train_args or [])]
    env = dict(os.environ)
    if cpu:
        env.update(CPU_ENV)
    return argv, env


def build_parser() -> argparse.ArgumentParser:
    """The `launch` subcommand's own options (the rest goes to `train`)."""
    parser = argparse.ArgumentParser(
        prog="python -m grpo_training launch",
        description="Run `train` on N processes through `accelerate launch` with a packaged config. "
                    "Options not listed here (the recipe, --set, --resume, --backend) go to `train`.")
    parser.add_argument("--num-processes", type=int, required=True, metavar="N", help="processes, one per GPU")
    parser.add_argument("--config", default="ddp", metavar="ddp|fsdp|zero2|zero3|FILE",
                        help="packaged accelerate config (default ddp) or your own accelerate config file; "
                             "zero2/zero3 need `pip install deepspeed`")
    parser.add_argument("--cpu", action="store_true", help="CPU processes over gloo (no GPU)")
    parser.add_argument("--main-process-port", type=int, default=None, metavar="PORT",
                        help="rendezvous port (0 = any free port)")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    return parser


def main_launch(argv: list[str]) -> int:
    """`launch`: check the train arguments and recipe here, then exec `accelerate launch`."""
    args, train_args = build_parser().parse_known_args(argv)
    try:
        command, env = build_launch_command(args.num_processes, args.config, train_args, cpu=args.cpu,
                                            main_process_port=args.main_process_port)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.cpu and args.config in ("zero2", "zero3"):
        print(f"error: --cpu with --config {args.config}: DeepSpeed needs GPUs; use --config ddp", file=sys.stderr)
        return 2
    if args.cpu and args.config == "fsdp":
        print("note: --cpu with --config fsdp: accelerate runs CPU processes as plain data parallel "
              "(its FSDP needs GPUs)", file=sys.stderr)
    from grpo_training.train_command import main_train

    # A bad recipe or option fails now, once, instead of once per process after torchrun started them.
    status = main_train([*train_args, "--check"])
    if status:
        return status
    if args.dry_run:
        prefix = "".join(f"{key}={value} " for key, value in CPU_ENV.items()) if args.cpu else ""
        print(prefix + shlex.join(command))
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(command[0], command, env)
    return 0  # not reached
