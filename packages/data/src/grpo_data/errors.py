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
