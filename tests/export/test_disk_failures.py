"""A full or read-only output disk is one `error:` line naming the folder (and its free space), exit 2: not
safetensors' SafetensorError or an OSError traceback, and not the lock's clean-up error in place of the first."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest


def small_disk(mount_point, command: list[str], *, read_only: bool = False) -> subprocess.CompletedProcess:
    """Run `command` where `mount_point` is a 1 MB tmpfs (read-only if asked), in a user and mount namespace of
    its own (`unshare -rm`: no root needed where user namespaces are allowed)."""
    mount_point.mkdir()
    script = f"mount -t tmpfs -o size=1m grpo-test {shlex.quote(str(mount_point))} || exit 97\n"
    if read_only:
        script += f"mount -o remount,ro {shlex.quote(str(mount_point))} || exit 97\n"
    script += "exec " + " ".join(shlex.quote(part) for part in command)
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    if result.returncode == 97:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    return result


pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("unshare") is None,
                                                    reason="needs Linux's unshare to mount a small disk")]


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_lora_export_onto_a_full_disk_is_one_error_line_with_the_free_space(embedded_lora_dir, embedded_dir,
                                                                                tmp_path):
    disk = tmp_path / "disk"
    result = small_disk(disk, [sys.executable, "-m", "grpo_export", "lora", str(embedded_lora_dir),
                               str(disk / "lora"), "--base", str(embedded_dir)])
    lines = error_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "no space left" in lines[0] and str(disk) in lines[0] and "MB free" in lines[0]


def test_a_read_only_output_folder_is_one_error_line_not_the_locks_clean_up_error(embedded_lora_dir, embedded_dir,
                                                                                  tmp_path):
    disk = tmp_path / "disk"
    result = small_disk(disk, [sys.executable, "-m", "grpo_export", "lora", str(embedded_lora_dir),
                               str(disk / "lora"), "--base", str(embedded_dir)], read_only=True)
    lines = error_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "read-only file system" in lines[0] and str(disk) in lines[0]
