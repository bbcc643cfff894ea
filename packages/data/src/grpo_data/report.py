"""What a loader did with each row: the counts that go into stats.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_DROPPED_EXAMPLES = 20


@dataclass
class DroppedRow:
    """One row that could not be used: where it was and why."""

    origin: str
    row: int
    field: str
    reason: str


@dataclass
class LoadReport:
    """Counts of rows read, kept and dropped (by reason) by ``load_gsm8k`` / ``load_dapo``.

    Pass an empty one as ``report=`` and the loader fills it in.

    Example:
        >>> report = LoadReport()
        >>> report.to_dict()["rows_read"]
        0
    """

    source: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    dropped_examples: list[DroppedRow] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        """Rows read but not kept."""
        return self.rows_read - self.rows_kept

    def record_drop(self, dropped: DroppedRow) -> None:
        """Count one dropped row (and keep the first few as examples)."""
        self.dropped_by_reason[dropped.reason] = self.dropped_by_reason.get(dropped.reason, 0) + 1
        if len(self.dropped_examples) < MAX_DROPPED_EXAMPLES:
            self.dropped_examples.append(dropped)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, with ``rows_dropped`` included."""
        return {**asdict(self), "rows_dropped": self.rows_dropped}
