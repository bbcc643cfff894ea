"""python -m grpo_data: parquet + stats.json written, read back, and never replaced by a failed run."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import datasets
import pytest

from conftest import FIXTURES

from grpo_data.cli import main


def test_synthetic_command_writes_prepared_parquet_and_stats(tmp_path):
    assert main(["synthetic", "--n", "40", "--seed", "3", "--out", str(tmp_path)]) == 0
    written = datasets.Dataset.from_parquet(str(tmp_path / "train.parquet"))
    stats = json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))
    assert written.num_rows == stats["rows_written"] == stats["load"]["rows_kept"] == 40
    assert written[0]["prompt"][0]["role"] == "system" and written[0]["answer"].lstrip("-").isdigit()
    assert stats["prompt_length"]["unit"] == "characters"
    assert set(stats["prompt_length"]["length_quantiles"]) == {"p50", "p90", "p95", "p99"}
    assert sorted(os.listdir(tmp_path)) == ["stats.json", "train.parquet"]


def test_written_files_get_the_mode_the_umask_asks_for(tmp_path):
    # They are written into mkstemp files (0o600) and renamed into place: they were private to the writer.
    previous = os.umask(0o022)
    try:
        assert main(["synthetic", "--n", "10", "--out", str(tmp_path)]) == 0
    finally:
        os.umask(previous)
    assert {name: (tmp_path / name).stat().st_mode & 0o777 for name in os.listdir(tmp_path)} == {
        "stats.json": 0o644, "train.parquet": 0o644}


def test_gsm8k_command_with_tokenizer_filters_and_reports(tmp_path, gsm8k_dir, smollm2_tokenizer):
    tokenizer_dir = smollm2_tokenizer.name_or_path
    status = main(["gsm8k", "--source", str(gsm8k_dir), "--split", "test", "--tokenizer", str(tokenizer_dir),
                   "--quantile", "0.9", "--max-seq-length", "512", "--out", str(tmp_path)])
    assert status == 0
    stats = json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))
    written = datasets.Dataset.from_parquet(str(tmp_path / "test.parquet"))
    assert stats["load"]["rows_read"] == 1319
    assert stats["prompt_length"]["unit"] == "tokens"
    assert written.num_rows == stats["prompt_length"]["rows_kept"] == stats["rows_written"]
    assert stats["prompt_length"]["max_completion_length"] == 512 - stats["prompt_length"]["max_prompt_length"]


def test_dapo_command_reports_dropped_rows_by_reason(tmp_path):
    source = tmp_path / "dapo.jsonl"
    source.write_text(
        (FIXTURES / "dapo_sample.jsonl").read_text(encoding="utf-8") + json.dumps({"prompt": "1+1?", "solution": ""}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["dapo", "--source", str(source), "--system-prompt", "dapo_zh", "--out", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["load"]["dropped_by_reason"] == {"empty_solution": 1}
    assert stats["load"]["dropped_examples"][0]["row"] == 7
    assert stats["rows_written"] == 6


def test_failed_run_leaves_the_good_artefacts_alone(tmp_path, capsys):
    assert main(["synthetic", "--n", "10", "--out", str(tmp_path)]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("train.parquet", "stats.json")}
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q", "answer": "#### 1"}\n{"question": \n', encoding="utf-8")
    assert main(["gsm8k", "--source", str(broken), "--out", str(tmp_path)]) == 2
    assert "line 2 is not valid JSON" in capsys.readouterr().err
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_source_with_no_usable_row_fails_and_keeps_the_earlier_output(tmp_path, capsys):
    assert main(["synthetic", "--n", "10", "--out", str(tmp_path)]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("train.parquet", "stats.json")}
    all_bad = tmp_path / "all_bad.jsonl"
    all_bad.write_text('{"question": "q", "answer": "4"}\n{"question": "r", "answer": "no marker"}\n', encoding="utf-8")
    assert main(["gsm8k", "--source", str(all_bad), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"error: {all_bad}: no usable row" in error and "no_final_answer_marker: 2" in error
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_strict_flag_makes_dropped_rows_fail(tmp_path, capsys):
    source = tmp_path / "train.jsonl"
    source.write_text('{"question": "q", "answer": "4"}\n', encoding="utf-8")
    assert main(["gsm8k", "--source", str(source), "--strict", "--out", str(tmp_path / "out")]) == 2
    assert "row 1, field 'answer'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "train.parquet").exists()


def test_module_entry_point_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "grpo_data", "synthetic", "--n", "5", "--schema", "dapo", "--raw", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    written = datasets.Dataset.from_parquet(str(tmp_path / "train.parquet"))
    assert written.column_names == ["prompt", "solution", "template", "operands"]



@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("unshare") is None,
                    reason="needs Linux's unshare to mount a small disk")
@pytest.mark.parametrize("read_only", [False, True])
def test_a_full_or_read_only_output_disk_is_one_error_line(tmp_path, read_only):
    """`--out` on a 64 KB tmpfs (read-only if asked), in a user and mount namespace of its own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"mount -t tmpfs -o size=64k{',ro' if read_only else ''} grpo-test {shlex.quote(str(disk))} || exit 97\n"
    script += shlex.join([sys.executable, "-m", "grpo_data", "synthetic", "--n", "2000", "--out", str(disk / "out")])
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode == 97:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert str(disk) in lines[0]
    assert ("read-only file system" if read_only else "no space left") in lines[0]

@pytest.mark.parametrize("module", ["grpo_data.gsm8k", "grpo_data.dapo", "grpo_data.synthetic", "grpo_data.splits",
                                    "grpo_data.prompts", "grpo_data.rows", "grpo_data.report", "grpo_data.atomic_files",
                                    "grpo_data"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and (result.attempted > 0)
