"""DAPO-Math (open-r1/DAPO-Math-17k-Processed) as GRPO prompts."""

from __future__ import annotations

import os
from typing import Any

import datasets

from grpo_data.gsm8k import build_chat_prompt
from grpo_data.prompts import DAPO_SYSTEM_PROMPT
from grpo_data.report import LoadReport
from grpo_data.rows import RowProblem, prepare_parts, text_problem
from grpo_data.sources import describe_source, load_source_parts

DAPO_SCHEMA_HINT = "DAPO-Math rows with a 'prompt' (problem text) and a 'solution' (the final answer)"


def load_dapo(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict = "open-r1/DAPO-Math-17k-Processed",
    config: str = "en",
    split: str = "train",
    system_prompt: str | None = DAPO_SYSTEM_PROMPT,
    *,
    strict: bool = False,
    report: LoadReport | None = None,
) -> datasets.Dataset:
    """Load DAPO-Math (or rows in its schema) as GRPO prompts.

    Args:
        source: Hub id, a local ``.jsonl``/``.json``/``.parquet`` file or folder of them, or an
            in-memory ``datasets.Dataset`` with ``prompt`` (text) and ``solution`` columns
            (e.g. ``synthetic_gsm8k(n, schema="dapo")``).
        config: Hub configuration ("en", "cn" or "all").
        split: split name (ignored for a single file or a Dataset).
        system_prompt: system message text; see ``grpo_data.SYSTEM_PROMPTS`` ("dapo_en", "dapo_zh").
        strict: raise on the first unusable row instead of dropping it.
        report: a ``LoadReport`` to fill in with rows read, kept and dropped by reason.

    Returns:
        Dataset with ``prompt`` (system + user messages), ``answer`` (the solution, stripped),
        ``question`` (the problem text), ``solution`` (as given), and any other source columns.

    Raises:
        DataSourceError: the source cannot be read.
        DataFormatError: empty file, malformed JSON, missing column, or (strict) an unusable row.

    Example:
        >>> raw = datasets.Dataset.from_dict({"prompt": ["What is 2+3?"], "solution": ["5"]})
        >>> load_dapo(raw)[0]["answer"]
        '5'
    """
    report = report if report is not None else LoadReport()
    report.source = describe_source(source)
    parts = load_source_parts(source, config, split)

    def build_row(row: dict[str, Any]) -> tuple[dict[str, Any] | None, RowProblem | None]:
        problem, solution = row["prompt"], row["solution"]
        if isinstance(solution, int) and not isinstance(solution, bool):
            solution = str(solution)
        issue = text_problem("prompt", problem, "the problem text") or text_problem(
            "solution", solution, "the final answer as text"
        )
        if issue:
            return None, issue
        return {
            "prompt": build_chat_prompt(system_prompt, problem),
            "answer": solution.strip(),
            "question": problem,
            "solution": solution,
        }, None

    return prepare_parts(
        parts,
        required_columns=("prompt", "solution"),
        schema_hint=DAPO_SCHEMA_HINT,
        build_row=build_row,
        placeholder={"prompt": build_chat_prompt(system_prompt, ""), "answer": "", "question": "", "solution": ""},
        strict=strict,
        report=report,
        loader_name="load_dapo",
    )
