"""Command line: `python -m grpo_training {train,launch,plan,eval,generate} ...` (also the `grpo-train` script).

    python -m grpo_training train RECIPE.yaml [--set section.field=value ...] [--backend auto|trl|unsloth]
    python -m grpo_training train --resume RUNS/NAME [--set grpo.max_steps=80]
    python -m grpo_training launch --num-processes N [--config ddp|fsdp|zero2|zero3] RECIPE.yaml [--set ...]
                                           (N GPUs through accelerate launch; see `launch --help`)
    python -m grpo_training plan RECIPE.yaml --gpu-memory 24GB [--set ...]
                                           (the recipe's GPU memory plan, no model loaded; see `plan --help`)
    python -m grpo_training eval ...       (see `python -m grpo_training eval --help`)
    python -m grpo_training generate ...   (see `python -m grpo_training generate --help`)

A bad recipe fails before any model is loaded, with the field named; every expected error (bad recipe or
--set, unsafe change on --resume, bad data, an untrained LoRA) prints one `error: ...` line and exits
with status 2 (`grpo_training.clean_errors`).

Example:
    >>> main(["train", "--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import sys

from grpo_training.cli.train import main_train


def main(argv: list[str] | None = None) -> int:
    """Dispatch `train`, `launch`, `plan`, `eval`, `generate`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("train", "launch", "plan", "eval", "generate")
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        asked = bool(argv) and argv[0] in ("-h", "--help")
        print(__doc__.split("\n\nExample:")[0], file=sys.stdout if asked else sys.stderr)
        if asked:
            return 0
        given = f"unknown command {argv[0]!r}" if argv else "no command given"
        print(f"error: {given}; choose one of {', '.join(commands)}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "train":
        return main_train(rest)
    if command == "launch":
        from grpo_training.cli.launch import main_launch

        return main_launch(rest)
    if command == "plan":
        from grpo_training.cli.plan import main_plan

        return main_plan(rest)
    from grpo_training.evaluation import cli as evaluation_cli

    if command == "eval":
        return evaluation_cli.main_eval(rest) or 0
    return evaluation_cli.main_generate(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
