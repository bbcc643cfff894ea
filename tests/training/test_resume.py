"""Kill a real training run mid-way with a signal, then resume it to the same final step count.

A checkpoint half-written by the killed process (or left without our completion marker) is never
taken: the run resumes from the newest *complete* one and moves the other aside.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grpo_training.run.trainer_checkpoints import (
    COMPLETE_MARKER,
    INCOMPLETE_DIR,
    find_resumable_checkpoint,
    list_checkpoints,
    quarantine_incomplete,
)
from grpo_training.run.monitoring import read_metrics
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

REPO = Path(__file__).resolve().parents[2]
FINAL_STEP = 6


def train_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "grpo_training", "train", *args]


def wait_for(condition, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"training exited early with status {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the first checkpoints")
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_run_resumes_from_newest_complete_checkpoint(tmp_path):
    model_dir = build_tiny_model(tmp_path / "tiny")
    recipe = tiny_recipe(model_dir, tmp_path / "runs", grpo={"max_steps": FINAL_STEP, "save_steps": 1},
                         run={"name": "killed"})
    recipe_path = write_recipe(recipe, tmp_path / "recipe.yaml")
    run_dir = tmp_path / "runs" / "killed"
    log_path = tmp_path / "first.log"

    with log_path.open("w") as log:
        first = subprocess.Popen(train_command(str(recipe_path)), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: (run_dir / "checkpoint-2" / COMPLETE_MARKER).is_file(), 600, first)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == -signal.SIGKILL
    newest = find_resumable_checkpoint(run_dir)
    killed_at = int(newest.name.split("-")[1])
    assert 2 <= killed_at < FINAL_STEP, "the run finished before it could be killed; nothing was tested"

    # As if the kill had landed mid-save: a newer checkpoint folder without optimizer state or marker.
    half_written = run_dir / f"checkpoint-{killed_at + 1}"
    if not half_written.exists():
        shutil.copytree(newest, half_written)
        (half_written / COMPLETE_MARKER).unlink()
        (half_written / "optimizer.pt").unlink()
    assert find_resumable_checkpoint(run_dir) == newest

    second = subprocess.run(train_command("--resume", str(run_dir)), cwd=REPO, capture_output=True, text=True,
                            timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]

    log = (run_dir / "train.log").read_text()
    assert f"Resume: from checkpoint-{killed_at} (step {killed_at})" in log
    quarantined = [p.name for p in (run_dir / INCOMPLETE_DIR).iterdir()]
    assert any(name.startswith(f"checkpoint-{killed_at + 1}-") for name in quarantined)

    result = json.loads((run_dir / "result.json").read_text())
    assert result["global_step"] == FINAL_STEP
    state = json.loads((run_dir / f"checkpoint-{FINAL_STEP}" / "trainer_state.json").read_text())
    assert state["global_step"] == FINAL_STEP
    assert [row["step"] for row in read_metrics(run_dir / "metrics.jsonl")] == list(range(1, FINAL_STEP + 1))
    assert all((path / COMPLETE_MARKER).is_file() for path in list_checkpoints(run_dir))
    assert (run_dir / "lora" / "adapter_model.safetensors").is_file()


def test_unmarked_checkpoints_are_never_resumable(tmp_path):
    for step, complete in ((1, True), (2, True), (3, False)):
        folder = write_fake_checkpoint(tmp_path / f"checkpoint-{step}", step)
        if not complete:
            (folder / COMPLETE_MARKER).unlink()
    (tmp_path / "checkpoint-2" / "trainer_state.json").unlink()  # marker but no state: not complete either
    assert find_resumable_checkpoint(tmp_path) == tmp_path / "checkpoint-1"
    os.rename(tmp_path / "checkpoint-1", tmp_path / "checkpoint-x")
    assert find_resumable_checkpoint(tmp_path) is None


def write_fake_checkpoint(folder: Path, step: int) -> Path:
    """A checkpoint with the files a LoRA run saves (tiny tensors), marked complete."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir()
    save_file({"base_model.model.layer.lora_A.weight": torch.ones(4, 8),
               "base_model.model.layer.lora_B.weight": torch.ones(8, 4)}, str(folder / "adapter_model.safetensors"))
    torch.save({"state": {0: {"exp_avg": torch.ones(256)}}}, folder / "optimizer.pt")
    torch.save({"last_epoch": step}, folder / "scheduler.pt")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (folder / COMPLETE_MARKER).write_text("complete\n")
    return folder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", ["adapter_model.safetensors", "optimizer.pt", "trainer_state.json"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_good_one(tmp_path, caplog, damage):
    for step in (1, 2):
        write_fake_checkpoint(tmp_path / f"checkpoint-{step}", step)
    damaged = tmp_path / "checkpoint-2" / damage
    truncate(damaged)  # the marker is there: the damage came after the save (disk full, a copy cut short)

    with caplog.at_level("WARNING", logger="grpo_training.run.trainer_checkpoints"):
        assert find_resumable_checkpoint(tmp_path) == tmp_path / "checkpoint-1"
    assert str(damaged) in caplog.text and "falling back" in caplog.text

    moved = quarantine_incomplete(tmp_path)  # what a resume does first: set it aside, never resume from it
    assert len(moved) == 1 and moved[0].name.startswith("checkpoint-2-") and moved[0].parent.name == INCOMPLETE_DIR
    assert [path.name for path in list_checkpoints(tmp_path)] == ["checkpoint-1"]
    assert str(damaged) in caplog.text


def test_a_checkpoint_without_weights_is_not_resumable(tmp_path):
    write_fake_checkpoint(tmp_path / "checkpoint-1", 1)
    (tmp_path / "checkpoint-1" / "adapter_model.safetensors").unlink()
    assert find_resumable_checkpoint(tmp_path) is None


@pytest.mark.slow
def test_resume_past_a_truncated_adapter_continues_from_the_previous_checkpoint(tmp_path):
    model_dir = build_tiny_model(tmp_path / "tiny")
    recipe = tiny_recipe(model_dir, tmp_path / "runs", grpo={"max_steps": 2, "save_steps": 1}, run={"name": "cut"})
    first = subprocess.run(train_command(str(write_recipe(recipe, tmp_path / "recipe.yaml"))), cwd=REPO,
                           capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = tmp_path / "runs" / "cut"
    damaged = run_dir / "checkpoint-2" / "adapter_model.safetensors"
    truncate(damaged)  # marker present, adapter cut short: a disk that filled up, a copy that stopped

    second = subprocess.run(train_command("--resume", str(run_dir), "--set", "grpo.max_steps=3"), cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Traceback" not in second.stderr
    log = (run_dir / "train.log").read_text()
    assert str(damaged) in log and "Resume: from checkpoint-1 (step 1)" in log
    assert "Resume: changed grpo.max_steps: 2 -> 3" in log
    assert json.loads((run_dir / "result.json").read_text())["global_step"] == 3
    assert [row["step"] for row in read_metrics(run_dir / "metrics.jsonl")] == [1, 2, 3]
