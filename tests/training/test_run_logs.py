"""A run's console log follows the stderr of the moment, and a run leaves the process's logging as it found it."""

from __future__ import annotations

import io
import logging
import sys

from grpo_training.run.logs import setup_logging, teardown_logging

TOOLKIT = ("grpo_training", "grpo_rewards", "grpo_data")


def logging_state() -> list[tuple[int, list[logging.Handler]]]:
    return [(logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in TOOLKIT]


def test_the_console_writes_to_the_stderr_of_now_not_a_closed_one(tmp_path, monkeypatch):
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    handler = setup_logging(tmp_path)
    try:
        first.close()  # the stderr logging was set up under is gone (e.g. a finished test's capture)
        now = io.StringIO()
        monkeypatch.setattr(sys, "stderr", now)
        logging.getLogger("grpo_training.run").info("after the stream changed")
    finally:
        teardown_logging(handler)
    assert "after the stream changed" in now.getvalue()
    assert "Logging error" not in now.getvalue()
    assert "after the stream changed" in (tmp_path / "train.log").read_text()


def test_a_run_leaves_the_toolkits_loggers_as_it_found_them(tmp_path):
    before = logging_state()
    outer = setup_logging(tmp_path)
    inner = setup_logging(tmp_path)  # a run inside a run: one console, not two
    consoles = [h for h in logging.getLogger("grpo_training").handlers if not isinstance(h, logging.FileHandler)]
    assert len(consoles) <= 1
    teardown_logging(inner)
    teardown_logging(outer)
    assert logging_state() == before
    logging.getLogger("grpo_training.run").info("after the run")
    assert "after the run" not in (tmp_path / "train.log").read_text()
