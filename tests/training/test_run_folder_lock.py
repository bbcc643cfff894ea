"""A run folder is locked while a process trains in it: a second `--resume` (or run) into it is refused naming that
process, with a real second process holding the lock; the lock ends with its process, however it ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grpo_training.cli import main as cli
from grpo_training.recipe import DEMO_RECIPE, dump_recipe, load_recipe
from grpo_training.run.folders import (
    LOCK_FILE,
    RunFolderInUseError,
    lock_run_folder,
    make_run_dir,
    release_run_folder,
)

REPO = Path(__file__).resolve().parents[2]


def hold_lock(folder: Path) -> subprocess.Popen:
    """A second Python process that locks `folder` as a training run does, says so, and sleeps."""
    script = textwrap.dedent(f"""
        import sys, time
        from grpo_training.run.folders import lock_run_folder
        try:
            lock_run_folder({str(folder)!r})
        except Exception as error:
            print("refused:", error, flush=True)
            sys.exit(3)
        print("locked", flush=True)
        time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    return process


def wait_for_answer(process: subprocess.Popen) -> str:
    return process.stdout.readline().strip()


@pytest.fixture
def run_folder(tmp_path):
    folder = tmp_path / "runs" / "started"
    folder.mkdir(parents=True)
    dump_recipe(load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path / 'runs'}", "run.name=started"]),
                folder / "recipe.yaml")
    return folder


def test_resuming_a_run_another_process_trains_is_refused_naming_it(run_folder, capsys):
    holder = hold_lock(run_folder)
    try:
        assert wait_for_answer(holder) == "locked"
        with pytest.raises(RunFolderInUseError) as error:
            make_run_dir(load_recipe(run_folder / "recipe.yaml"), resume_from=run_folder)
        assert f"process {holder.pid} on {socket.gethostname()}" in str(error.value)
        assert cli.main(["train", "--resume", str(run_folder), "--set", "grpo.max_steps=50"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: run folder {run_folder} is in use: process {holder.pid} on "
                              f"{socket.gethostname()} (since ") and err.count("\n") == 1, err
        assert f"then continue it with --resume {run_folder}" in err
    finally:
        holder.kill()
        holder.wait()
    assert not (run_folder / "train.log").exists()  # the refused resume wrote nothing


def test_the_lock_ends_with_its_process_even_when_killed(run_folder):
    holder = hold_lock(run_folder)
    assert wait_for_answer(holder) == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert json.loads((run_folder / LOCK_FILE).read_text())["pid"] == holder.pid  # the file stays, the lock does not
    assert make_run_dir(load_recipe(run_folder / "recipe.yaml"), resume_from=run_folder) == run_folder
    release_run_folder(run_folder)


def test_a_new_run_holds_its_folder_until_it_releases_it(tmp_path):
    run_dir = make_run_dir(load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path}", "run.name=fresh"]))
    try:
        second = hold_lock(run_dir)
        assert wait_for_answer(second).startswith(f"refused: run folder {run_dir} is in use: process {os.getpid()} on")
        assert second.wait(timeout=60) == 3
        assert lock_run_folder(run_dir) == run_dir  # this process already holds it: nothing to wait for
    finally:
        release_run_folder(run_dir)
    third = hold_lock(run_dir)
    try:
        assert wait_for_answer(third) == "locked"
    finally:
        third.kill()
        third.wait()
