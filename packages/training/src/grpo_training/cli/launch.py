"""One command for N GPUs: `python -m grpo_training launch` runs `accelerate launch` on a packaged config.

    python -m grpo_training launch --num-processes 2 RECIPE.yaml [--set ...]            # DDP
    python -m grpo_training launch --num-processes 4 --config fsdp RECIPE.yaml          # FSDP2
    python -m grpo_training launch --num-processes 2 --cpu RECIPE.yaml                  # CPU processes (gloo)
    python -m grpo_training launch --num-processes 2 --vllm colocate RECIPE.yaml        # rollouts through vLLM
    python -m grpo_training launch --num-processes 3 --vllm server --server-gpus 3 RECIPE.yaml
    python -m grpo_training launch --num-processes 16 --num-machines 2 --machine-rank 0 \\
        --main-process-ip 10.0.0.1 --main-process-port 29500 RECIPE.yaml                 # on each machine, its rank

becomes (and is replaced by, via exec)

    accelerate launch --config_file <grpo_training>/accelerate_configs/ddp.yaml --num_processes 2 \\
        -m grpo_training train RECIPE.yaml [--set ...]

Everything after the launch options goes to `train` unchanged (`--vllm` adds its `--set grpo.use_vllm=true ...`,
see `grpo_training.cli.launch_vllm`; with `--vllm server` launch starts the server and training side by side
instead of exec). `--num-processes` counts the processes of all machines, as accelerate's does.
`--cpu` sets `ACCELERATE_USE_CPU=true` for the processes instead of passing accelerate's own `--cpu`: that
flag selects accelerate's single-process launcher (it expects mpirun for several CPU processes), whereas the
config's launcher (torchrun) starts N. It also sets `ACCELERATE_TORCH_DEVICE=cpu` (see `CPU_ENV`).

Example:
    >>> argv, env = build_launch_command(2, "ddp", ["demo.yaml"], cpu=True)
    >>> argv[argv.index("--num_processes") + 1], argv[-2:], env["ACCELERATE_USE_CPU"]
    ('2', ['train', 'demo.yaml'], 'true')
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import shlex
import sys
from pathlib import Path

from grpo_training.cli import launch_vllm

ACCELERATE_CONFIGS_DIR = Path(__file__).parents[1] / "accelerate_configs"
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


def check_machines(num_processes: int, num_machines: int, machine_rank: int, main_process_ip: str | None,
                   main_process_port: int | None) -> None:
    """Raise `ValueError` unless the multi-machine options make one launch that every machine agrees on."""
    if num_machines < 1:
        raise ValueError(f"--num-machines must be >= 1, got {num_machines}")
    if not 0 <= machine_rank < num_machines:
        raise ValueError(f"--machine-rank {machine_rank}: expected 0..{num_machines - 1} for --num-machines "
                         f"{num_machines}")
    if num_machines == 1:
        return
    if num_processes % num_machines:
        raise ValueError(f"--num-processes {num_processes} counts the processes of all machines: it must be a "
                         f"multiple of --num-machines {num_machines}")
    if not main_process_ip or not main_process_port:
        raise ValueError(f"--num-machines {num_machines} needs --main-process-ip (the address of the machine "
                         "with --machine-rank 0) and a fixed --main-process-port, the same on every machine")


def build_launch_command(
    num_processes: int,
    config: str = "ddp",
    train_args: list[str] | None = None,
    *,
    cpu: bool = False,
    main_process_port: int | None = None,
    num_machines: int = 1,
    machine_rank: int = 0,
    main_process_ip: str | None = None,
    gpus: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The `accelerate launch ... -m grpo_training train ...` argv and the environment to run it with.

    Args:
        num_processes: processes to start on all machines together (one per GPU).
        config: a packaged config name or an accelerate config file.
        train_args: arguments for `python -m grpo_training train` (recipe, --set, --resume, --backend).
        cpu: run CPU processes that talk over gloo (tests, machines without GPUs).
        main_process_port: rendezvous port; 0 picks a free one (default: the config's, else 29500).
        num_machines: machines taking part; each runs this command with its own `machine_rank`.
        machine_rank: this machine's number (0 = the one at `main_process_ip`, whose first process writes the run).
        main_process_ip: address of machine 0, reachable from every machine.
        gpus: `CUDA_VISIBLE_DEVICES` for the training processes (None: leave the environment's).
    """
    if num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {num_processes}")
    check_machines(num_processes, num_machines, machine_rank, main_process_ip, main_process_port)
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config_path(config)),
            "--num_processes", str(num_processes)]
    if num_machines > 1:
        argv += ["--num_machines", str(num_machines), "--machine_rank", str(machine_rank),
                 "--main_process_ip", str(main_process_ip)]
    if main_process_port is not None:
        argv += ["--main_process_port", str(main_process_port)]
    argv += ["-m", "grpo_training", "train", *(train_args or [])]
    env = dict(os.environ)
    if cpu:
        env.update(CPU_ENV)
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpus
    return argv, env


def build_parser() -> argparse.ArgumentParser:
    """The `launch` subcommand's own options (the rest goes to `train`)."""
    parser = argparse.ArgumentParser(
        prog="python -m grpo_training launch",
        description="Run `train` on N processes through `accelerate launch` with a packaged config. "
                    "Options not listed here (the recipe, --set, --resume, --backend) go to `train`.")
    parser.add_argument("--num-processes", type=int, required=True, metavar="N",
                        help="training processes, one per GPU, on all machines together (with --vllm server: "
                             "besides the server's GPUs)")
    parser.add_argument("--config", default="ddp", metavar="ddp|fsdp|zero2|zero3|FILE",
                        help="packaged accelerate config (default ddp) or your own accelerate config file; "
                             "zero2/zero3 need `pip install deepspeed`")
    parser.add_argument("--cpu", action="store_true", help="CPU processes over gloo (no GPU)")
    parser.add_argument("--main-process-port", type=int, default=None, metavar="PORT",
                        help="rendezvous port (0 = any free port; several machines need a fixed one)")
    machines = parser.add_argument_group("several machines (run launch on each, with its own --machine-rank)")
    machines.add_argument("--num-machines", type=int, default=1, metavar="M", help="machines taking part (default 1)")
    machines.add_argument("--machine-rank", type=int, default=0, metavar="R", help="this machine's number, 0..M-1")
    machines.add_argument("--main-process-ip", default=None, metavar="ADDRESS",
                          help="address of machine 0, reachable from the others")
    vllm = parser.add_argument_group("rollouts through vLLM (GPUs, `pip install grpo-training[vllm]`)")
    vllm.add_argument("--vllm", choices=launch_vllm.VLLM_MODES, default=None,
                      help="colocate: a vLLM engine in every training process; server: `trl vllm-serve` on "
                           "--server-gpus, training on the next N GPUs")
    vllm.add_argument("--server-gpus", default=None, metavar="IDS",
                      help="--vllm server: the server's GPUs, e.g. 3 or 2,3 (tensor parallel over them); numbers "
                           "count the GPUs this shell sees")
    vllm.add_argument("--server-port", type=int, default=8000, metavar="PORT",
                      help="--vllm server: the server's HTTP port on 127.0.0.1 (default 8000)")
    parser.add_argument("--dry-run", action="store_true", help="print the command(s) instead of running them")
    return parser


def check_vllm_options(args: argparse.Namespace, train_args: list[str]) -> None:
    """Raise `ValueError` for a `--vllm` combination that cannot run."""
    if args.vllm is None:
        if args.server_gpus is not None:
            raise ValueError("--server-gpus is for --vllm server")
        return
    if args.cpu:
        raise ValueError(f"--vllm {args.vllm} needs GPUs; drop --cpu")
    conflicts = launch_vllm.conflicting_overrides(train_args)
    if conflicts:
        raise ValueError(f"--set {', '.join(conflicts)}: --vllm {args.vllm} sets this itself; drop the --set")
    if args.vllm == "server":
        if args.server_gpus is None:
            raise ValueError("--vllm server needs --server-gpus (the server's GPUs, e.g. 3)")
        if args.num_machines > 1:
            raise ValueError("--vllm server runs on one machine; across machines use --vllm colocate")
    elif args.server_gpus is not None:
        raise ValueError("--server-gpus is for --vllm server (colocate shares each training GPU)")


def _env_changes(env: dict[str, str]) -> str:
    return "".join(f"{key}={shlex.quote(value)} " for key, value in env.items()
                   if os.environ.get(key) != value)


def main_launch(argv: list[str]) -> int:
    """`launch`: check the train arguments and recipe here, then exec `accelerate launch` (with `--vllm server`:
    run the server and training side by side)."""
    args, train_args = build_parser().parse_known_args(argv)
    try:
        check_vllm_options(args, train_args)
        command, env = build_launch_command(args.num_processes, args.config, train_args, cpu=args.cpu,
                                            main_process_port=args.main_process_port, num_machines=args.num_machines,
                                            machine_rank=args.machine_rank, main_process_ip=args.main_process_ip)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.cpu and args.config in ("zero2", "zero3"):
        print(f"error: --cpu with --config {args.config}: DeepSpeed needs GPUs; use --config ddp", file=sys.stderr)
        return 2
    if args.cpu and args.config == "fsdp":
        print("note: --cpu with --config fsdp: accelerate runs CPU processes as plain data parallel "
              "(its FSDP needs GPUs)", file=sys.stderr)
    from grpo_training.cli.train import main_train

    # A bad recipe or option fails now, once, instead of once per process after torchrun started them.
    status = main_train([*train_args, "--check"])
    if status:
        return status
    if args.vllm:
        return _launch_with_vllm(args, train_args)
    if args.dry_run:
        print(_env_changes(env) + shlex.join(command))
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(command[0], command, env)
    return 0  # not reached


def build_vllm_commands(args: argparse.Namespace, train_args: list[str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The commands `--vllm` runs, by role ("server" with --vllm server, and "training"), from a checked recipe."""
    from grpo_training.model.backends import resolve_model_name
    from grpo_training.cli.train import build_train_parser, load_train_recipe

    recipe = load_train_recipe(build_train_parser().parse_args(train_args))
    if recipe.run.backend == "unsloth":
        raise ValueError("--vllm runs TRL's vLLM modes on the trl backend; the recipe asks for run.backend: "
                         "unsloth (use --backend trl)")
    tensor_parallel = int(recipe.grpo.get("vllm_tensor_parallel_size") or 1)
    if args.vllm == "colocate" and args.num_processes % tensor_parallel:
        raise ValueError(f"grpo.vllm_tensor_parallel_size {tensor_parallel} must divide --num-processes "
                         f"{args.num_processes} (each group of that many processes shares one vLLM engine)")
    overrides = launch_vllm.vllm_train_overrides(args.vllm, recipe, server_port=args.server_port)
    train_args = [*train_args, *(part for override in overrides for part in ("--set", override)), "--backend", "trl"]
    gpus, commands = None, {}
    if args.vllm == "server":
        server_gpus, gpus = launch_vllm.split_gpus(args.num_processes, launch_vllm.parse_gpu_list(args.server_gpus),
                                                   os.environ.get("CUDA_VISIBLE_DEVICES"))
        commands["server"] = launch_vllm.build_server_command(
            resolve_model_name(recipe, cuda=True), server_gpus, port=args.server_port,
            max_model_len=launch_vllm.vllm_max_model_length(recipe))
    commands["training"] = build_launch_command(
        args.num_processes, args.config, train_args, main_process_port=args.main_process_port,
        num_machines=args.num_machines, machine_rank=args.machine_rank, main_process_ip=args.main_process_ip, gpus=gpus)
    return commands


def _launch_with_vllm(args: argparse.Namespace, train_args: list[str]) -> int:
    from grpo_training.cli.train import main_train

    try:
        commands = build_vllm_commands(args, train_args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The run's own recipe may refuse the vLLM fields (e.g. on --resume): say so here, once.
    training_command = commands["training"][0]
    with contextlib.redirect_stdout(io.StringIO()):
        status = main_train([*training_command[training_command.index("grpo_training") + 2:], "--check"])
    if status:
        return status
    if args.dry_run:
        for role, (command, env) in commands.items():
            print(f"# {role}\n{_env_changes(env)}{shlex.join(command)}")
        return 0
    if importlib.util.find_spec("vllm") is None:
        print(f"error: --vllm {args.vllm} needs vllm in this environment: pip install 'grpo-training[vllm]'",
              file=sys.stderr)
        return 2
    if "server" not in commands:
        command, env = commands["training"]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvpe(command[0], command, env)
    return launch_vllm.run_with_server(commands["server"], commands["training"])
