"""GSM8K as GRPO prompts: chat messages (system + user) and the normalised final answer."""

from __future__ import annotations

import os
import re
from typing import Any

import datasets

from grpo_data.prompts import XML_SYSTEM_PROMPT, one_shot_messages
from grpo_data.report import LoadReport
from grpo_data.rows import RowProblem, prepare_parts, text_problem
from grpo_data.sources import describe_source, load_source_parts

FINAL_ANSWER_MARKER = "####"
GSM8K_SCHEMA_HINT = (
    "GSM8K rows with a 'question' (text) and an 'answer' (worked solution ending in '#### <number>')"
)
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalise_final_answer(text: str) -> str:
    """Normalise a GSM8K final answer: strip spaces, remove thousands commas, keep the sign.

    Example:
        >>> normalise_final_answer(" 1,080 ")
        '1080'
        >>> normalise_final_answer("-7")
        '-7'
    """
    return _THOUSANDS_COMMA.sub("", text.strip())


def extract_final_answer(raw_answer: str) -> str | None:
    """The normalised text after GSM8K's ``####`` marker, or None when the marker is missing.

    Example:
        >>> extract_final_answer("48/2 = <<48/2=24>>24\\n#### 1,024")
        '1024'
        >>> extract_final_answer("no marker") is None
        True
    """
    if FINAL_ANSWER_MARKER not in raw_answer:
        return None
    return normalise_final_answer(raw_answer.rsplit(FINAL_ANSWER_MARKER, 1)[1])


def build_chat_prompt(
    system_prompt: str | None, user_text: str, examples: list[dict[str, str]] | None = None
) -> list[dict[str, str]]:
    """System + (optional example turns) + user chat messages; no system message when it is None or empty.

    Example:
        >>> build_chat_prompt("Be brief.", "1+1?")[1]
        {'role': 'user', 'content': '1+1?'}
    """
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return messages + list(examples or []) + [{"role": "user", "content": user_text}]


def load_gsm8k(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict = "openai/gsm8k",
    config: str = "main",
    split: str = "train",
    system_prompt: str | None = XML_SYSTEM_PROMPT,
    *,
    strict: bool = False,
    report: LoadReport | None = None,
    one_shot: bool = False,
) -> datasets.Dataset:
    """Load GSM8K (or rows in its schema) as GRPO prompts.

    Args:
        source: Hub id (``"openai/gsm8k"``), a local ``.jsonl``/``.json``/``.parquet`` file, a folder of
            them (files named after ``split``), or an in-memory ``datasets.Dataset`` with ``question``
            and ``answer`` columns (e.g. ``synthetic_gsm8k(...)``).
        config: Hub configuration ("main" or "socratic").
        split: "train" or "test" (ignored for a single file or a Dataset).
        system_prompt: system message text; see ``grpo_data.SYSTEM_PROMPTS``.
        strict: raise on the first unusable row instead of dropping it.
        report: a ``LoadReport`` to fill in with rows read, kept and dropped by reason.
        one_shot: put tutorial 1's worked example (``one_shot_messages()``, in ``XML_COT_FORMAT``)
            between the system and the user message.

    Returns:
        Dataset with ``prompt`` (system + user messages), ``answer`` (final answer after ``####``,
        thousands commas removed, sign kept), ``question``, ``raw_answer``, and any other source columns.

    Raises:
        DataSourceError: the source cannot be read (missing path, Hub unreachable).
        DataFormatError: empty file, malformed JSON, missing column, or (strict) an unusable row;
            the message names the file, the row and the field.

    Example:
        >>> from grpo_data import synthetic_gsm8k
        >>> rows = load_gsm8k(synthetic_gsm8k(4, seed=0))
        >>> [message["role"] for message in rows[0]["prompt"]]
        ['system', 'user']
    """
    report = report if report is not None else LoadReport()
    report.source = describe_source(source)
    parts = load_source_parts(source, config, split)
    examples = one_shot_messages() if one_shot else None

    def build_row(row: dict[str, Any]) -> tuple[dict[str, Any] | None, RowProblem | None]:
        question, raw_answer = row["question"], row["answer"]
        problem = text_problem("question", question, "the question text") or text_problem(
            "answer", raw_answer, "a worked solution ending in '#### <number>'"
        )
        if problem:
            return None, problem
        final = extract_final_answer(raw_answer)
        if final is None:
            return None, (
                "answer",
                "no_final_answer_marker",
                f"no '{FINAL_ANSWER_MARKER}' marker; expected the solution to end in '#### <number>'",
            )
        if not final:
            return None, ("answer", "empty_final_answer", f"nothing after '{FINAL_ANSWER_MARKER}'; expected a number")
        return {
            "prompt": build_chat_prompt(system_prompt, question, examples),
            "answer": final,
            "raw_answer": raw_answer,
        }, None

    return prepare_parts(
        parts,
        required_columns=("question", "answer"),
        schema_hint=GSM8K_SCHEMA_HINT,
        build_row=build_row,
        placeholder={"prompt": build_chat_prompt(system_prompt, "", examples), "answer": "", "raw_answer": ""},
        strict=strict,
        report=report,
        loader_name="load_gsm8k",
    )
