"""A run's log: the toolkit's loggers to the console and `<run>/train.log`; replicas show only warnings.

Example:
    >>> import tempfile
    >>> handler = setup_logging(Path(tempfile.mkdtemp()))
    >>> logging.getLogger("grpo_training").level == logging.INFO
    True
    >>> teardown_logging(handler)
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

def quiet_replica_logging() -> None:
    """On processes other than the main one, show only warnings (the main process logs the run)."""
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(run_dir: Path) -> logging.Handler:
    """Send the toolkit's log (and TRL/transformers warnings) to the console and `<run>/train.log`."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    file_handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    file_handler.setFormatter(formatter)
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        package_logger = logging.getLogger(name)
        package_logger.setLevel(logging.INFO)
        package_logger.addHandler(file_handler)
        console_present = any(type(h) is logging.StreamHandler for h in package_logger.handlers + logging.getLogger().handlers)
        if not console_present:
            console = logging.StreamHandler(sys.stderr)
            console.setFormatter(formatter)
            package_logger.addHandler(console)
    return file_handler


def teardown_logging(handler: logging.Handler) -> None:
    """Detach the run's file handler."""
    for name in ("grpo_training", "grpo_rewards", "grpo_data"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()
