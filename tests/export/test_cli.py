"""The command line, run as a real subprocess (`python -m grpo_export ...`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import make_tiny_model


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grpo_export", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # a whole conversion and check in a subprocess; the fast lane runs to_gguf in-process
def test_gguf_command_writes_and_reports(embedded_tokenizer, tmp_path):
    model_dir = make_tiny_model("llama", tmp_path / "tiny", embedded_tokenizer)
    result = run_cli("gguf", str(model_dir), str(tmp_path / "out"), "--methods", "f16")
    assert result.returncode == 0, result.stderr
    assert "tiny.F16.gguf" in result.stdout and "run by llama.cpp" in result.stdout and ", checked;" in result.stdout
    assert (tmp_path / "out" / "tiny.F16.gguf").is_file()


def test_push_dry_run_lists_files_and_card(tmp_path):
    (tmp_path / "m.Q8_0.gguf").write_bytes(b"GGUF" * 100)
    result = run_cli("push", str(tmp_path), "me/m-GGUF", "--dry-run", "--base-model", "microsoft/phi-4",
                     "--dataset", "openai/gsm8k")
    assert result.returncode == 0, result.stderr
    assert "Would upload to me/m-GGUF" in result.stdout and "m.Q8_0.gguf" in result.stdout
    assert "base_model: microsoft/phi-4" in result.stdout and "library_name: gguf" in result.stdout


def test_errors_exit_2_with_one_error_line(tmp_path):
    result = run_cli("gguf", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.startswith("error: Cannot read")
    assert "Traceback" not in result.stderr
