"""Shared row preparation: check required columns, build prompt columns, count or refuse unusable rows."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import datasets

from grpo_data.errors import DataFormatError, NoUsableRowsError
from grpo_data.report import DroppedRow, LoadReport
from grpo_data.sources import SourcePart

logger = logging.getLogger(__name__)

# A row builder gets one raw row and returns (new column values, None) or (None, (field, reason, explanation)).
RowProblem = tuple[str, str, str]
RowBuilder = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, RowProblem | None]]

DROP_COLUMN = "_grpo_data_drop"
DUPLICATE_REASON = "duplicate_question"
MAX_LOGGED_DUPLICATES = 5


def normalized_question(text: str) -> str:
    """A question's text as compared for duplicates: case-folded, runs of whitespace made one space.

    Example:
        >>> normalized_question("  What is   2 + 2? ") == normalized_question("what is 2 + 2?")
        True
    """
    return " ".join(str(text).split()).casefold()


def text_problem(field: str, value: Any, expected: str) -> RowProblem | None:
    """The problem with a text field's value (missing, empty, not text), or None when it is usable text.

    Example:
        >>> text_problem("answer", None, "a worked solution")[1]
        'missing_answer'
        >>> text_problem("answer", "#### 4", "a worked solution") is None
        True
    """
    if value is None:
        return field, f"missing_{field}", f"no value; expected {expected}"
    if not isinstance(value, str):
        return field, f"{field}_not_text", f"holds a {type(value).__name__}; expected {expected}"
    if not value.strip():
        return field, f"empty_{field}", f"is empty; expected {expected}"
    return None


def prepare_parts(
    parts: Sequence[SourcePart],
    *,
    required_columns: Sequence[str],
    schema_hint: str,
    build_row: RowBuilder,
    placeholder: dict[str, Any],
    strict: bool,
    report: LoadReport,
    loader_name: str,
    question_column: str = "question",
) -> datasets.Dataset:
    """Apply ``build_row`` to every row of every part; drop (and count) or refuse the unusable rows; keep the
    first row of each question (`normalized_question`), counting the others as ``duplicate_question`` drops
    (also with ``strict``: a repeated question is not an unusable row).

    Args:
        parts: loaded parts, each named by its origin.
        required_columns: columns that must exist in every part.
        schema_hint: what a good row looks like, for error messages.
        build_row: maps one raw row to its new column values, or names its problem.
        placeholder: column values written for an unusable row before it is filtered out
            (so that every row has the same types).
        strict: raise on the first unusable row instead of dropping it.
        report: filled in with counts (rows_read, rows_kept, dropped_by_reason).
        loader_name: name used in the WARNING log line.
        question_column: the built column holding the question text, compared for duplicates.

    Returns:
        All kept rows, parts concatenated in order.

    Raises:
        DataFormatError: a part lacks a required column, or (strict) a row is unusable.
        NoUsableRowsError: no row of any part is usable (the source is refused, not read as 0 rows).
    """
    prepared, kept_rows = [], []
    for part in parts:
        missing = [name for name in required_columns if name not in part.dataset.column_names]
        if missing:
            raise DataFormatError(
                part.origin,
                f"missing column(s) {missing}; it has {part.dataset.column_names}. Expected {schema_hint}",
                field=missing[0],
            )
        built, kept = _prepare_part(part, build_row, placeholder, strict, report)
        prepared.append(built)
        kept_rows.append(kept)
    if report.rows_kept == 0:
        origins = ", ".join(part.origin for part in parts)
        raise NoUsableRowsError(origins, report.rows_read, report.dropped_by_reason, schema_hint)
    if report.rows_dropped:
        logger.warning(
            "%s: dropped %d of %d rows from %s: %s (pass strict=True to make them errors)",
            loader_name,
            report.rows_dropped,
            report.rows_read,
            report.source,
            report.dropped_by_reason,
        )
    prepared = _drop_duplicate_questions(prepared, kept_rows, parts, question_column, report, loader_name)
    return prepared[0] if len(prepared) == 1 else _concatenate(prepared, parts)


def _drop_duplicate_questions(prepared: list[datasets.Dataset], kept_rows: list[list[int]],
                              parts: Sequence[SourcePart], question_column: str, report: LoadReport,
                              loader_name: str) -> list[datasets.Dataset]:
    """Keep the first row of each question (across all parts); count the others in `report` as
    `duplicate_question` drops with their row numbers, and log one line naming the first few. A question in
    the data twice would otherwise land on both sides of a train / held-out split."""
    first_seen: dict[str, str] = {}
    duplicates: list[str] = []
    deduplicated = []
    for built, rows, part in zip(prepared, kept_rows, parts):
        keep = []
        questions = built[:][question_column] if built.num_rows else []
        for position, (row, question) in enumerate(zip(rows, questions)):
            key = normalized_question(question)
            where = f"{part.origin} row {row}" if len(parts) > 1 else f"row {row}"
            if key in first_seen:
                report.record_drop(DroppedRow(origin=part.origin, row=row, field=question_column,
                                              reason=DUPLICATE_REASON))
                duplicates.append(f"{where} (= {first_seen[key]})")
            else:
                first_seen[key] = where
                keep.append(position)
        deduplicated.append(built if len(keep) == built.num_rows else built.select(keep))
    if duplicates:
        report.rows_kept -= len(duplicates)
        shown = ", ".join(duplicates[:MAX_LOGGED_DUPLICATES]) + (", ..." if len(duplicates) > MAX_LOGGED_DUPLICATES else "")
        logger.warning("%s: %d duplicate rows in %s (the same %s as an earlier row, compared case- and whitespace-"
                       "blind) were dropped, keeping the first of each: %s", loader_name, len(duplicates),
                       report.source, question_column, shown)
    return deduplicated


def _prepare_part(
    part: SourcePart, build_row: RowBuilder, placeholder: dict[str, Any], strict: bool, report: LoadReport
) -> tuple[datasets.Dataset, list[int]]:
    """The part's usable rows, and their row numbers in the part (from 1)."""
    def build_batch(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        columns: dict[str, list] = {name: [] for name in placeholder}
        columns[DROP_COLUMN] = []
        for position, index in enumerate(indices):
            row = {name: values[position] for name, values in batch.items()}
            values, problem = build_row(row)
            if problem is not None:
                field, reason, explanation = problem
                if strict:
                    raise DataFormatError(
                        part.origin, f"{explanation} (strict=True refuses unusable rows)", row=index + 1, field=field
                    )
                values = placeholder
                columns[DROP_COLUMN].append(f"{field}:{reason}")
            else:
                columns[DROP_COLUMN].append("")
            for name in placeholder:
                columns[name].append(values[name])
        return columns

    # In memory, with a fresh fingerprint: rows are small, and hashing this closure would only warn.
    built = part.dataset.map(
        build_batch,
        batched=True,
        with_indices=True,
        desc=f"Preparing {part.origin}",
        keep_in_memory=True,
        load_from_cache_file=False,
        new_fingerprint=uuid.uuid4().hex,
    )
    flags = built[DROP_COLUMN]
    report.rows_read += len(flags)
    keep = []
    for index, flag in enumerate(flags):
        if flag:
            field, reason = flag.split(":", 1)
            report.record_drop(DroppedRow(origin=part.origin, row=index + 1, field=field, reason=reason))
        else:
            keep.append(index)
    report.rows_kept += len(keep)
    if len(keep) < len(flags):
        built = built.select(keep)
    return built.remove_columns(DROP_COLUMN), [index + 1 for index in keep]


def _concatenate(prepared: list[datasets.Dataset], parts: Sequence[SourcePart]) -> datasets.Dataset:
    try:
        return datasets.concatenate_datasets(prepared)
    except ValueError as error:
        origins = ", ".join(part.origin for part in parts)
        raise DataFormatError(
            origins, f"these files do not share one schema, so they cannot be combined: {error}"
        ) from error
