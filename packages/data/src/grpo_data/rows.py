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
) -> datasets.Dataset:
    """Apply ``build_row`` to every row of every part; drop (and count) or refuse the unusable rows.

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

    Returns:
        All kept rows, parts concatenated in order.

    Raises:
        DataFormatError: a part lacks a required column, or (strict) a row is unusable.
        NoUsableRowsError: no row of any part is usable (the source is refused, not read as 0 rows).
    """
    prepared = []
    for part in parts:
        missing = [name for name in required_columns if name not in part.dataset.column_names]
        if missing:
            raise DataFormatError(
                part.origin,
                f"missing column(s) {missing}; it has {part.dataset.column_names}. Expected {schema_hint}",
                field=missing[0],
            )
        prepared.append(_prepare_part(part, build_row, placeholder, strict, report))
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
    return prepared[0] if len(prepared) == 1 else _concatenate(prepared, parts)


def _prepare_part(
    part: SourcePart, build_row: RowBuilder, placeholder: dict[str, Any], strict: bool, report: LoadReport
) -> datasets.Dataset:
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
    return built.remove_columns(DROP_COLUMN)


def _concatenate(prepared: list[datasets.Dataset], parts: Sequence[SourcePart]) -> datasets.Dataset:
    try:
        return datasets.concatenate_datasets(prepared)
    except ValueError as error:
        origins = ", ".join(part.origin for part in parts)
        raise DataFormatError(
            origins, f"these files do not share one schema, so they cannot be combined: {error}"
        ) from error
