"""Training onto a disk that fills up at checkpoint time, or into a read-only folder, ends with one `error:` line
naming the folder, its free space and what to do (exit 2), not torch's "[enforce fail ...] unexpected pos",
safetensors' error or an OSError traceback."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from grpo_training.recipe import DEMO_RECIPE
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("unshare") is None,
                                                    reason="needs Linux's unshare to mount a small disk")]


def test_a_full_disk_at_checkpoint_time_is_one_error_line(tmp_path):
    model_dir = build_tiny_model(tmp_path / "tiny")
    disk = tmp_path / "disk"
    disk.mkdir()
    recipe = write_recipe(tiny_recipe(model_dir, disk, grpo={"save_steps": 1}), tmp_path / "recipe.yaml")
    script = (f"mount -t tmpfs -o size=600k grpo-test {shlex.quote(str(disk))} || exit 97\n"
              f"exec {shlex.quote(sys.executable)} -m grpo_training train {shlex.quote(str(recipe))}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=900)
    if result.returncode == 97:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert "no space left" in lines[0] and str(disk) in lines[0] and "MB free" in lines[0]


@pytest.mark.parametrize("writer", ["torch.save", "safetensors"])
def test_a_checkpoint_writer_on_a_full_tmpfs_is_one_error_line(tmp_path, writer):
    """torch.save's "[enforce fail at inline_container.cc] unexpected pos" and safetensors' SafetensorError, raised
    through an entry point wrapped by `exits_cleanly`, as a trainer's checkpoint raises them."""
    disk = tmp_path / "disk"
    disk.mkdir()
    save = ("torch.save(tensors, f'{folder}/optimizer.pt')" if writer == "torch.save" else
            "save_file(tensors, f'{folder}/adapter_model.safetensors')")
    program = "\n".join([
        "import os, sys, torch", "from safetensors.torch import save_file",
        "from grpo_training.clean_errors import exits_cleanly", "@exits_cleanly", "def main():",
        f"    folder = {str(disk / 'checkpoint-2')!r}", "    os.mkdir(folder)",
        "    tensors = {'w': torch.zeros(512, 1024)}", f"    {save}", "    return 0", "sys.exit(main())"])
    script = (f"mount -t tmpfs -o size=1m grpo-test {shlex.quote(str(disk))} || exit 97\n"
              f"exec {shlex.quote(sys.executable)} -c {shlex.quote(program)}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode == 97:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.startswith(f"error: cannot write {disk / 'checkpoint-2'}")
    assert "no space left" in result.stderr and "MB free" in result.stderr and "--resume" in result.stderr


def test_a_read_only_output_folder_is_one_error_line_before_any_model_loads(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=1m grpo-test {shlex.quote(str(disk))} || exit 97\n"
              f"mount -o remount,ro {shlex.quote(str(disk))} || exit 97\n"
              f"exec {shlex.quote(sys.executable)} -m grpo_training train {shlex.quote(str(DEMO_RECIPE))} "
              f"--set run.output_dir={shlex.quote(str(disk / 'runs'))}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode == 97:
        pytest.skip(f"cannot mount a small read-only tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: cannot write {disk / 'runs'}: {disk} is on a read-only file system; choose an output "
                     "folder you can write; the output folder is run.output_dir (--set run.output_dir=... or --out); "
                     "a training run continues from its last complete checkpoint with --resume RUN_DIR"], result.stderr
    assert "Loading" not in result.stderr and "Stage: loading the model" not in result.stderr
