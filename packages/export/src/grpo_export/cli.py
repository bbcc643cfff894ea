"""Command line: `python -m grpo_export {lora,merged,gguf,push} ...` (also installed as `grpo-export`).

Examples:
    python -m grpo_export lora outputs/checkpoint-250 grpo_saved_lora --base microsoft/phi-4
    python -m grpo_export merged microsoft/phi-4 grpo_saved_lora model --dtype bfloat16
    python -m grpo_export gguf model model-gguf --methods q4_k_m q8_0 q5_k_m
    python -m grpo_export push model-gguf me/phi4-gsm8k-grpo-GGUF --base-model microsoft/phi-4 --dry-run
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from grpo_export.atomic_files import write_failure_message
from grpo_export.errors import ExportError


def _lora(args) -> None:
    import torch
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from grpo_export.lora import save_lora

    if not Path(args.adapter, "adapter_config.json").is_file():
        raise ExportError(f"{args.adapter}: no adapter_config.json there; point it at a PEFT adapter folder "
                          "(a trainer's checkpoint-N or a run's lora/)")
    base = args.base or PeftConfig.from_pretrained(args.adapter).base_model_name_or_path
    try:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    except (OSError, ValueError) as error:  # a missing folder, a malformed Hub id, offline without a cached copy
        raise ExportError(f"cannot load the base model {base}: {error}; give --base a model folder or a Hub id "
                          "such as 'microsoft/phi-4'") from error
    peft_model = PeftModel.from_pretrained(model, args.adapter)
    tokenizer_source = args.adapter if Path(args.adapter, "tokenizer_config.json").is_file() else base
    print(save_lora(peft_model, AutoTokenizer.from_pretrained(tokenizer_source), args.out_dir,
                    overwrite=args.overwrite))


def _merged(args) -> None:
    from grpo_export.merge import merge

    print(merge(args.base, args.lora_dir, args.out_dir, method=args.method, dtype=args.dtype,
                overwrite=args.overwrite))


def _gguf(args) -> None:
    from grpo_export.gguf_export import to_gguf

    report: list[dict] = []
    paths = to_gguf(args.merged_dir, args.out_dir, args.methods, model_name=args.model_name,
                    overwrite=args.overwrite, work_dir=args.work_dir, report=report)
    for figures in report:
        calibrated = (f" = {figures['ratio']:.2f} x its type's rounding ({figures['calibrated_against']}), checked"
                      if "ratio" in figures else " (not checked for this type)")
        print(f"{figures['file']}: {figures['bytes'] / 1e6:.1f} MB, run by {figures['runtime']}: relative logit error "
              f"{figures['relative_logit_error']:.3g}{calibrated}; top-1 agreement {figures['top1_agreement']:.1%}")
    print("\n".join(str(p) for p in paths))


def _push(args) -> None:
    from grpo_export.hub import ModelCardInfo, load_evaluation_table, push_to_hub

    info = ModelCardInfo(base_model=args.base_model, datasets=args.dataset or [], license=args.license,
                         recipe=Path(args.recipe).read_text(encoding="utf-8") if args.recipe else None,
                         evaluation=load_evaluation_table(args.eval_table) if args.eval_table else [])
    plan = push_to_hub(args.folder, args.repo_id, private=args.private, card_info=info,
                       allow_existing=args.allow_existing, dry_run=args.dry_run)
    print(plan.describe())
    if args.dry_run:
        print("\n--- README.md (model card) ---\n" + plan.model_card)


def _run(args) -> None:
    import dataclasses

    from grpo_export.run_export import export_run

    exported = export_run(args.run_dir, base_model=args.base, gguf_methods=args.gguf, model_name=args.model_name,
                          push_to=args.push_to, private=args.private, card_base_model=args.card_base_model,
                          datasets=args.dataset, language=args.language, gguf_work_dir=args.work_dir)
    if args.json:
        print(json.dumps({"run_dir": str(exported.run_dir), "merged_dir": str(exported.merged_dir),
                          "gguf_files": [str(p) for p in exported.gguf_files],
                          "pushed": dataclasses.asdict(exported.pushed) if exported.pushed else None,
                          "pushed_gguf": dataclasses.asdict(exported.pushed_gguf) if exported.pushed_gguf else None}))
    else:
        print(exported.describe())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one sub-command per export kind).

    Example:
        >>> build_parser().parse_args(["gguf", "model", "out"]).methods
        ['q8_0']
    """
    parser = argparse.ArgumentParser(prog="grpo-export", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    commands = parser.add_subparsers(dest="command", required=True)

    lora = commands.add_parser("lora", help="save a verified LoRA folder from a trainer checkpoint/adapter")
    lora.add_argument("adapter", help="PEFT adapter folder (e.g. outputs/checkpoint-250)")
    lora.add_argument("out_dir")
    lora.add_argument("--base", help="base model folder or Hub id (default: from adapter_config.json)")
    lora.set_defaults(run=_lora)

    merged = commands.add_parser("merged", help="merge base + LoRA into a full model")
    merged.add_argument("base", help="base model folder or Hub id")
    merged.add_argument("lora_dir")
    merged.add_argument("out_dir")
    merged.add_argument("--method", default="merged_16bit", choices=["merged_16bit", "merged_4bit"])
    merged.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], help="default: model's 16-bit dtype")
    merged.set_defaults(run=_merged)

    gguf = commands.add_parser("gguf", help="convert a merged model to GGUF (llama.cpp's tools)")
    gguf.add_argument("merged_dir")
    gguf.add_argument("out_dir")
    gguf.add_argument("--methods", nargs="+", default=["q8_0"], help="e.g. q8_0 f16 q4_k_m q5_k_m (default q8_0)")
    gguf.add_argument("--model-name", help="file name stem (default: merged_dir's name)")
    gguf.set_defaults(run=_gguf)
    work_help = ("where the 16-bit intermediate of K-quants goes (default: $GRPO_EXPORT_WORK_DIR, else beside the "
                 "output): another disk or a RAM disk when the output's disk is short")
    gguf.add_argument("--work-dir", help=work_help)

    for sub in (lora, merged, gguf):
        sub.add_argument("--no-overwrite", dest="overwrite", action="store_false",
                         help="fail if out_dir exists (default: replace it once the new export is verified)")

    run = commands.add_parser("run", help="export a training run folder: merged 16-bit, GGUF, optional push")
    run.add_argument("run_dir", help="a run folder holding lora/ (and recipe.yaml, eval.json for the card)")
    run.add_argument("--base", required=True, help="the base model the LoRA was trained on (folder or Hub id)")
    run.add_argument("--gguf", nargs="*", default=["q8_0"], help="GGUF methods (none: no GGUF)")
    run.add_argument("--model-name", help="GGUF file name stem (default: the run folder's name)")
    run.add_argument("--work-dir", help=work_help)
    run.add_argument("--push-to", help="Hub repo id for the merged model (the GGUF files go to <it>-GGUF)")
    run.add_argument("--private", action="store_true")
    run.add_argument("--card-base-model", help="base model named in the card when --base is a folder")
    run.add_argument("--dataset", action="append", help="dataset id for the card (repeatable)")
    run.add_argument("--language", action="append", help="language code for the card (repeatable)")
    run.add_argument("--json", action="store_true", help="print what was written as one JSON line")
    run.set_defaults(run=_run)

    push = commands.add_parser("push", help="push an export folder to the Hub with a model card")
    push.add_argument("folder")
    push.add_argument("repo_id", help="user/name")
    push.add_argument("--private", action="store_true")
    push.add_argument("--allow-existing", action="store_true", help="push into a repo that already has files")
    push.add_argument("--dry-run", action="store_true", help="list what would be uploaded, contact nothing")
    push.add_argument("--base-model")
    push.add_argument("--dataset", action="append", help="dataset id (repeatable)")
    push.add_argument("--license")
    push.add_argument("--recipe", help="YAML recipe file shown in the card")
    push.add_argument("--eval-table", help="JSON evaluation table (list of rows) shown in the card")
    push.set_defaults(run=_push)
    return parser


EXIT_STATUS = 2
"""The exit status of an expected error (bad input, a refused target, a failed check), as the training CLI's."""
WRITE_FAILURE_ADVICE = "nothing under the output's final name was replaced"
"""What `write_failure_message` adds for an export's user: a failed export never replaces a good one."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 an export error, printed as one `error:` line).

    Example:
        >>> main(["push", "/nonexistent", "me/model", "--dry-run"])  # doctest: +SKIP
        2
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args.run(args)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_STATUS
    except Exception as error:
        disk = write_failure_message(error, WRITE_FAILURE_ADVICE)  # a full or read-only disk: not a bug
        if disk is None:
            raise
        print(f"error: {disk}", file=sys.stderr)
        return EXIT_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
