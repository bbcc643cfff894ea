"""An export writes only into a folder that is absent, empty, or an earlier export of the same kind:
never into a run folder, a folder of the user's files, or the current folder."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grpo_export import ExportError, save_lora
from grpo_export.output_folders import MARKER_NAME, export_kind_of, staged_output_dir
from grpo_export.cli import build_parser, main


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _run_folder(tmp_path):
    run = tmp_path / "runs" / "demo"
    (run / "checkpoint-10").mkdir(parents=True)
    (run / "checkpoint-10" / "adapter_model.safetensors").write_bytes(b"weights")
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    (run / "recipe.yaml").write_text("model: x\n")
    return run


def test_lora_export_into_a_run_folder_is_refused_and_deletes_nothing(embedded_peft, embedded_tokenizer, tmp_path):
    run = _run_folder(tmp_path)
    before = _snapshot(run)
    with pytest.raises(ExportError, match="files that no export of this toolkit wrote.*nothing was deleted"):
        save_lora(embedded_peft, embedded_tokenizer, run)
    assert _snapshot(run) == before


def test_a_folder_of_user_files_is_refused_by_every_kind(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    for kind in ("lora", "merged", "gguf"):
        with pytest.raises(ExportError, match=str(mine)):
            with staged_output_dir(mine, kind=kind) as staging:
                (staging / "x").write_text("new")
    assert _snapshot(mine) == {"thesis.tex": b"years of work"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_the_cli_refuses_the_current_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "keep.txt").write_text("keep")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert main(["gguf", str(model), "."]) == 2
    assert "current folder" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "keep" and (model / "config.json").is_file()


def test_an_empty_folder_is_filled_in_place_of_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with staged_output_dir(empty, kind="gguf") as staging:
        (staging / "m.Q8_0.gguf").write_bytes(b"GGUF")
    assert export_kind_of(empty) == "gguf" and (empty / MARKER_NAME).is_file()


def test_an_earlier_export_of_the_same_kind_is_replaced_but_not_one_of_another_kind(tmp_path):
    target = tmp_path / "out"
    with staged_output_dir(target, kind="gguf") as staging:
        (staging / "m.Q8_0.gguf").write_bytes(b"old")
    with staged_output_dir(target, kind="gguf") as staging:
        (staging / "m.Q8_0.gguf").write_bytes(b"new")
    assert (target / "m.Q8_0.gguf").read_bytes() == b"new"
    with pytest.raises(ExportError, match="holds a gguf export, so a merged export will not replace it"):
        with staged_output_dir(target, kind="merged") as staging:
            (staging / "config.json").write_text("{}")
    assert (target / "m.Q8_0.gguf").read_bytes() == b"new"


def test_an_export_from_before_the_marker_is_recognised_by_its_files(tmp_path):
    legacy = tmp_path / "grpo_saved_lora"
    legacy.mkdir()
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "tokenizer_config.json"):
        (legacy / name).write_text("old")
    with staged_output_dir(legacy, kind="lora") as staging:
        (staging / "adapter_config.json").write_text("new")
    assert (legacy / "adapter_config.json").read_text() == "new"
    assert not (legacy / "tokenizer.json").exists()


def test_no_overwrite_refuses_and_names_the_flag_that_exists(tmp_path):
    target = tmp_path / "out"
    with staged_output_dir(target, kind="gguf") as staging:
        (staging / "m.gguf").write_bytes(b"x")
    with pytest.raises(ExportError) as refused:
        with staged_output_dir(target, kind="gguf", overwrite=False):
            pass
    flags = set(re.findall(r"--[a-z][a-z-]+", str(refused.value)))
    assert flags == {"--no-overwrite"}


def test_every_flag_an_export_message_names_exists():
    import grpo_export

    parser = build_parser()
    known = {option for sub in parser._subparsers._group_actions[0].choices.values()
             for action in sub._actions for option in action.option_strings}
    source = "\n".join(path.read_text() for path in Path(grpo_export.__path__[0]).glob("*.py"))
    named = set(re.findall(r"CLI: (--[a-z][a-z-]+)", source))
    assert named and named <= known, named - known


def test_scratch_folders_of_a_killed_export_are_removed_by_the_next(tmp_path):
    target = tmp_path / "gguf"
    for leftover in (".gguf.partial-abc", ".gguf.work-def", ".gguf.old-ghi"):
        (tmp_path / leftover).mkdir()
        (tmp_path / leftover / "half.gguf").write_bytes(b"x" * 100)
    (tmp_path / ".other.partial-xyz").mkdir()  # another target's: not ours to remove
    with staged_output_dir(target, kind="gguf") as staging:
        (staging / "m.gguf").write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [".other.partial-xyz", "gguf"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_tool_process_ends_with_the_export_that_started_it(tmp_path):
    """The exporting process is SIGKILLed while llama.cpp's converter (here a stand-in that sleeps) runs:
    the converter must not go on writing."""
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from grpo_export.gguf_export import _run_logged
        child = "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
        _run_logged([sys.executable, "-c", child], Path({str(tmp_path / 'log')!r}), "converter")
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not pid_file.is_file() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.1)
    child_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        if open(f"/proc/{child_pid}/stat").read().split()[2] == "Z":
            return  # dead, waiting to be reaped by init
        time.sleep(0.1)
    os.kill(child_pid, signal.SIGKILL)
    pytest.fail("the converter kept running after the export was killed")
