"""Training onto a disk that fills up at checkpoint time ends with one `error:` line naming the folder, its free
space and what to do (exit 2), not torch's "[enforce fail ...] unexpected pos" or safetensors' error."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

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
