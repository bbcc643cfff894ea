"""An app's training process, and whatever it starts, ends with the app: SIGTERM (a scheduler, `docker stop`),
SIGINT (Ctrl-C) and SIGKILL alike."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from grpo_training.processes import run_in_own_group

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and PR_SET_PDEATHSIG")


def survivors(pids: list[int], timeout: float = 20) -> list[int]:
    """The pids still running (not zombies) after `timeout`; any found are killed before returning."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


def descendants_once(parent: subprocess.Popen, wanted: str, timeout: float = 90) -> list[int]:
    """The pids below `parent` once one of them has `wanted` in its command line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        below = psutil.Process(parent.pid).children(recursive=True)
        if any(wanted in " ".join(child.cmdline()) for child in below if child.is_running()):
            return [child.pid for child in below]
        assert parent.poll() is None, "the app ended before its training process started"
        time.sleep(0.2)
    pytest.fail(f"no {wanted!r} process started")


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_apps_training_process_ends_with_the_app(tmp_path, how):
    """The real app (`apps/phi4_gsm8k/train.py --demo`) signalled while its `python -m grpo_training train`
    process starts: that process ends too (it does not train on with PPID 1)."""
    app = subprocess.Popen([sys.executable, str(ROOT / "apps/phi4_gsm8k/train.py"), "--demo",
                            "--set", f"run.output_dir={tmp_path}"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids = descendants_once(app, "grpo_training train")
    app.send_signal(how)
    app.wait(timeout=60)
    assert not survivors(pids), f"the training process ran on after the app got signal {how.name}"
    if how == signal.SIGTERM:
        assert app.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_stage_and_what_it_started_end_with_a_signalled_parent(tmp_path, how):
    """A stage process that started one of its own (as training may: a logger, a rollout engine): SIGTERM or
    SIGINT to the parent reaches both."""
    pid_file = tmp_path / "pids"
    stage = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open({str(pid_file)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(300)
    """)
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from grpo_training.processes import run_in_own_group
        run_in_own_group([sys.executable, "-c", {stage!r}])
    """)])
    deadline = time.monotonic() + 60
    while not pid_file.is_file() or len(pid_file.read_text().split()) < 2:
        assert time.monotonic() < deadline, "the stage never started"
        time.sleep(0.1)
    parent.send_signal(how)
    parent.wait(timeout=60)
    assert not survivors([int(p) for p in pid_file.read_text().split()])
    # SIGTERM: SystemExit(143), `finally` blocks run; SIGINT: KeyboardInterrupt, as Ctrl-C always ended the app
    assert parent.returncode == (128 + signal.SIGTERM if how == signal.SIGTERM else -signal.SIGINT)


def test_a_stage_exit_status_is_passed_on():
    assert run_in_own_group([sys.executable, "-c", "raise SystemExit(2)"]).returncode == 2
