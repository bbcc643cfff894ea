"""A run's log: the toolkit's loggers to the console and `<run>/train.log`; replicas show only warnings.

Example:
    >>> import tempfile
    >>> before = logging.getLogger("grpo_training").level
    >>> handler = setup_logging(Path(tempfile.mkdtemp()))
    >>> logging.getLogger("grpo_training").level == logging.INFO
    True
    >>> teardown_logging(handler)
    >>> logging.getLogger("grpo_training").level == before
    True
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


class ConsoleHandler(logging.StreamHandler):
    """The run's console: writes to whatever `sys.stderr` is when a record is emitted (as logging's own last-resort
    handler does), so a stderr replaced after logging was set up is followed, never written to once closed.

    Example:
        >>> import io
        >>> handler, before = ConsoleHandler(), sys.stderr
        >>> sys.stderr = io.StringIO()
        >>> handler.emit(logging.makeLogRecord({"msg": "to the stderr of now"}))
        >>> now, sys.stderr = sys.stderr, before
        >>> now.getvalue()
        'to the stderr of now\\n'
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        return sys.stderr


def quiet_replica_logging() -> None:
    """On processes other than the main one, show only warnings (the main process logs the run)."""
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        logging.getLogger(name).setLevel(logging.WARNING)


class RunLogFile(logging.FileHandler):
    """`<run>/train.log`, holding what `setup_logging` changed (each logger's level before, the console it added)
    so that `teardown_logging` can undo exactly that."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.changed: list[tuple[logging.Logger, int, logging.Handler | None]] = []


def setup_logging(run_dir: Path) -> RunLogFile:
    """Send the toolkit's log (and TRL/transformers warnings) to the console and `<run>/train.log`; the console only
    where no console handler is there already (a command line's `logging.basicConfig`)."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    file_handler = RunLogFile(run_dir / "train.log")
    file_handler.setFormatter(formatter)
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        package_logger = logging.getLogger(name)
        console_present = any(type(h) in (logging.StreamHandler, ConsoleHandler)
                              for h in package_logger.handlers + logging.getLogger().handlers)
        console = None if console_present else ConsoleHandler()
        file_handler.changed.append((package_logger, package_logger.level, console))
        package_logger.setLevel(logging.INFO)
        package_logger.addHandler(file_handler)
        if console is not None:
            console.setFormatter(formatter)
            package_logger.addHandler(console)
    return file_handler


def teardown_logging(handler: RunLogFile) -> None:
    """Undo `setup_logging` (the last one first, where runs nest): the run's file and console handlers detached,
    each logger's level as it was."""
    for package_logger, level, console in handler.changed:
        package_logger.removeHandler(handler)
        if console is not None:
            package_logger.removeHandler(console)
        package_logger.setLevel(level)
    handler.close()
