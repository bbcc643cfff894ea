"""Evaluation reports as a printed table and as `eval.json`, with the sampling settings stated."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from grpo_data.atomic_files import write_atomically
from grpo_training.evaluation.evaluate import EvalReport

EVAL_JSON_VERSION = 1


def format_eval_table(reports: Sequence[EvalReport]) -> str:
    """A Markdown table of evaluation reports (before/after, base vs base+LoRA), sampling stated above it.

    Example:
        >>> print(format_eval_table([before, after]))  # doctest: +SKIP
        Held-out evaluation, task xml, prefill '<reasoning>\\n'; sampling: temperature=0.8 top_p=0.95 ...
        | run    | prompts | answer accuracy | format compliance | truncated | mean tokens |
        | before |      64 |   0.094 (6/64)  |  0.547 (35/64)    | ...
    """
    if not reports:
        return "(no evaluation reports)"
    settings = {report.sampling.describe() for report in reports}
    tasks = {report.task for report in reports}
    prefixes = {report.prefix for report in reports}
    header_parts = [f"task {', '.join(sorted(tasks))}"]
    if len(prefixes) == 1 and next(iter(prefixes)):
        header_parts.append(f"prefill {next(iter(prefixes))!r}")
    if len(settings) == 1:
        header_parts.append(f"sampling: {next(iter(settings))}")
    lines = ["Held-out evaluation, " + "; ".join(header_parts)]

    with_language = any(report.target_language_rate is not None for report in reports)
    columns = ["run", "model", "prompts", "answer accuracy", "format compliance"]
    if with_language:
        columns.append("target language")
    columns += ["truncated", "mean tokens"]
    if len(settings) > 1:
        columns.append("sampling")
    rows = []
    for report in reports:
        row = [report.label, _model_label(report), str(report.n),
               _rate(report.answer_accuracy, report.n), _rate(report.format_compliance, report.n)]
        if with_language:
            row.append("-" if report.target_language_rate is None
                       else f"{report.target_language}: {_rate(report.target_language_rate, report.n)}")
        row += [f"{report.truncated_rate:.2f}", f"{report.mean_completion_tokens:.1f}"]
        if len(settings) > 1:
            row.append(report.sampling.describe())
        rows.append(row)
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in rows]
    return "\n".join(lines)


def write_eval_json(path: str | os.PathLike, reports: Sequence[EvalReport]) -> Path:
    """Write the reports to `path` as JSON (atomically: a temp file beside it, then a rename).

    Returns:
        The path written.

    Example:
        >>> write_eval_json(run_dir / "eval.json", [before, after])  # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "version": EVAL_JSON_VERSION,
        "table": format_eval_table(reports),
        "reports": [report.to_dict() for report in reports],
    }
    write_atomically(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")  # the umask's mode, not 0600
    return path


def _rate(rate: float, n: int) -> str:
    return f"{rate:.3f} ({round(rate * n)}/{n})"


def _model_label(report: EvalReport) -> str:
    name = Path(report.model).name if report.model else "?"
    return f"{name} + LoRA" if report.lora else name
