"""Errors raised for input that cannot be used, naming where it is and what was expected."""

from __future__ import annotations


class DataFormatError(ValueError):
    """Input data that cannot be used: names the file (or source), the row, the field, and what is expected.

    Attributes:
        origin: file path or source name.
        row: 1-based row (or line) number, or None when the problem is the whole file.
        field: the column concerned, or None.
    """

    def __init__(self, origin: str, message: str, *, row: int | None = None, field: str | None = None):
        self.origin = origin
        self.row = row
        self.field = field
        where = origin
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class DataSourceError(OSError):
    """A source that cannot be read at all: a missing or unreadable path, or an unreachable Hub id."""


class NoUsableRowsError(DataFormatError):
    """Every row of a source was unusable: names the source, the rows read and why they were dropped.

    Attributes:
        rows_read: rows read from the source.
        dropped_by_reason: reason -> count, as in ``LoadReport.dropped_by_reason``.

    Example:
        >>> error = NoUsableRowsError("train.jsonl", 3, {"no_final_answer_marker": 3}, "GSM8K rows")
        >>> str(error)
        'train.jsonl: no usable row: all 3 rows were dropped (no_final_answer_marker: 3); expected GSM8K rows'
    """

    def __init__(self, origin: str, rows_read: int, dropped_by_reason: dict[str, int], expected: str):
        self.rows_read = rows_read
        self.dropped_by_reason = dict(dropped_by_reason)
        reasons = ", ".join(f"{reason}: {count}" for reason, count in self.dropped_by_reason.items()) or "no reason"
        super().__init__(origin, f"no usable row: all {rows_read} rows were dropped ({reasons}); expected {expected}")
