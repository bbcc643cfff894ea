"""Command line: prepare a data set and write ``<split>.parquet`` and ``stats.json`` into ``--out``.

    python -m grpo_data gsm8k --source openai/gsm8k --split train --out data/gsm8k
    python -m grpo_data dapo --source dapo.jsonl --tokenizer PATH --max-seq-length 1024 --out data/dapo
    python -m grpo_data synthetic --n 2000 --seed 0 --out data/synthetic

Both files are written beside their target first and then renamed, so a failed run never replaces
a good artefact. A source with no usable row is an error (exit status 2) naming the file and why
its rows were dropped; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from tqdm.auto import tqdm

from grpo_data.atomic_files import write_atomically, write_failure_message
from grpo_data.dapo import load_dapo
from grpo_data.errors import DataFormatError, DataSourceError
from grpo_data.gsm8k import load_gsm8k
from grpo_data.prompt_length import REPORTED_QUANTILES, filter_by_prompt_length
from grpo_data.prompts import SYSTEM_PROMPTS
from grpo_data.report import LoadReport
from grpo_data.synthetic import SCHEMAS, synthetic_gsm8k


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m grpo_data`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m grpo_data", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    gsm8k = commands.add_parser("gsm8k", help="GSM8K (Hub id, local file or folder) as GRPO prompts")
    gsm8k.add_argument("--source", default="openai/gsm8k", help="Hub id, .jsonl/.json/.parquet file, or folder")
    gsm8k.add_argument("--config", default="main", help="Hub configuration")
    gsm8k.add_argument("--system-prompt", default="xml", choices=sorted(SYSTEM_PROMPTS), help="system prompt name")
    gsm8k.add_argument("--one-shot", action="store_true", help="add tutorial 1's worked example before the question")

    dapo = commands.add_parser("dapo", help="DAPO-Math (Hub id, local file or folder) as GRPO prompts")
    dapo.add_argument("--source", default="open-r1/DAPO-Math-17k-Processed", help="Hub id, file, or folder")
    dapo.add_argument("--config", default="en", help="Hub configuration")
    dapo.add_argument("--system-prompt", default="dapo_en", choices=sorted(SYSTEM_PROMPTS), help="system prompt name")

    synthetic = commands.add_parser("synthetic", help="SYNTHETIC grade-school problems (offline)")
    synthetic.add_argument("--n", type=int, required=True, help="number of problems")
    synthetic.add_argument("--seed", type=int, default=0, help="random seed")
    synthetic.add_argument("--schema", default="gsm8k", choices=SCHEMAS, help="GSM8K or DAPO column schema")
    synthetic.add_argument("--system-prompt", default=None, choices=sorted(SYSTEM_PROMPTS),
                           help="system prompt name (default: xml for gsm8k, dapo_en for dapo)")
    synthetic.add_argument("--raw", action="store_true", help="write the raw schema instead of GRPO prompts")

    for command in (gsm8k, dapo, synthetic):
        command.add_argument("--out", required=True, type=Path, help="output folder")
        command.add_argument("--split", default="train", help="split to read; also the output file name")
        command.add_argument("--strict", action="store_true", help="fail on any unusable row instead of dropping it")
        command.add_argument("--tokenizer", default=None, help="tokenizer folder or Hub id: enables the length filter")
        command.add_argument("--gguf-file", default=None, help="GGUF file name inside --tokenizer, if it is one")
        command.add_argument("--quantile", type=float, default=0.9, help="prompt-length quantile to keep")
        command.add_argument("--max-seq-length", type=int, default=None, help="derive max_completion_length")
    return parser


EXIT_STATUS = 2
"""The exit status of an expected error (bad input, a full or read-only disk), as every CLI of the toolkit's."""
WRITE_FAILURE_ADVICE = "a file under --out is replaced only once it is written whole"
"""What `write_failure_message` adds for this CLI's user."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    datasets.enable_progress_bars()
    try:
        stats = prepare(args)
    except (DataFormatError, DataSourceError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_STATUS
    except Exception as error:
        disk = write_failure_message(error, WRITE_FAILURE_ADVICE)  # a full or read-only disk: not a bug
        if disk is None:
            raise
        print(f"error: {disk}", file=sys.stderr)
        return EXIT_STATUS
    print(json.dumps({key: stats[key] for key in ("output", "rows_written")}, indent=None))
    return 0


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Load, optionally filter by prompt length, and write; returns what was written to stats.json."""
    stages = ["load"] + (["filter by prompt length"] if args.tokenizer else []) + ["write"]
    report = LoadReport()
    with tqdm(total=len(stages), desc="grpo_data", unit="stage") as bar:
        bar.set_postfix_str(stages[0])
        rows = _load(args, report)
        bar.update()
        length_stats: dict[str, Any]
        if args.tokenizer:
            bar.set_postfix_str(stages[1])
            rows, stats = filter_by_prompt_length(
                rows, _load_tokenizer(args.tokenizer, args.gguf_file), args.quantile, args.max_seq_length
            )
            length_stats = {"unit": "tokens", **stats.to_dict()}
            bar.update()
        else:
            length_stats = _character_lengths(rows)
        bar.set_postfix_str("write")
        if rows.num_rows == 0:  # never write an empty artefact over a good one
            raise DataFormatError(report.source or str(getattr(args, "source", args.command)),
                                  "no rows left to write; the output folder is left as it was")
        output = args.out / f"{args.split}.parquet"
        stats = {
            "command": args.command,
            "arguments": {key: str(value) for key, value in vars(args).items()},
            "output": str(output),
            "rows_written": rows.num_rows,
            "load": report.to_dict(),
            "prompt_length": length_stats,
        }
        args.out.mkdir(parents=True, exist_ok=True)
        write_atomically(output, lambda path: rows.to_parquet(str(path)))
        write_atomically(args.out / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
        bar.update()
    return stats


def _load(args: argparse.Namespace, report: LoadReport) -> datasets.Dataset:
    if args.command == "gsm8k":
        return load_gsm8k(args.source, args.config, args.split, SYSTEM_PROMPTS[args.system_prompt],
                          strict=args.strict, report=report, one_shot=args.one_shot)
    if args.command == "dapo":
        return load_dapo(args.source, args.config, args.split, SYSTEM_PROMPTS[args.system_prompt],
                         strict=args.strict, report=report)
    raw = synthetic_gsm8k(args.n, args.seed, args.schema, progress=True)
    if args.raw:
        report.source, report.rows_read, report.rows_kept = f"synthetic_gsm8k(seed={args.seed})", raw.num_rows, raw.num_rows
        return raw
    loader, default_prompt = (load_gsm8k, "xml") if args.schema == "gsm8k" else (load_dapo, "dapo_en")
    rows = loader(raw, system_prompt=SYSTEM_PROMPTS[args.system_prompt or default_prompt], strict=args.strict,
                  report=report)
    report.source = f"synthetic_gsm8k(n={args.n}, seed={args.seed}, schema={args.schema!r})"
    return rows


def _load_tokenizer(name: str, gguf_file: str | None) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError as error:
        raise ValueError("--tokenizer needs transformers: pip install 'grpo-data[length]'") from error
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        return AutoTokenizer.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as error:  # a missing folder, a malformed Hub id, offline without a cached copy
        raise DataSourceError(f"--tokenizer {name}: cannot load a tokenizer ({error}); give a tokenizer folder or "
                              "a Hub id such as 'microsoft/phi-4'") from error


def _character_lengths(rows: datasets.Dataset) -> dict[str, Any]:
    """Without a tokenizer: quantiles of the problem text length (user message, or raw text) in characters."""
    column = "prompt" if "prompt" in rows.column_names else "question"
    if rows.num_rows == 0 or column not in rows.column_names:
        return {"unit": "characters", "rows": rows.num_rows}
    texts = [value if isinstance(value, str) else value[-1]["content"] for value in rows[column]]
    lengths = np.asarray([len(text) for text in texts])
    quantiles = {f"p{round(q * 100)}": float(np.quantile(lengths, q)) for q in REPORTED_QUANTILES}
    return {"unit": "characters", "rows": len(lengths), "min_length": int(lengths.min()),
            "max_length": int(lengths.max()), "length_quantiles": quantiles}


if __name__ == "__main__":
    raise SystemExit(main())
