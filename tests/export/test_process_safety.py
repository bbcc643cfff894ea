"""Processes an export starts end with it, however it ends (SIGTERM, SIGINT, SIGKILL), and names that become
paths stay inside their folder."""

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

from grpo_export.llama_cpp import LLAMA_CPP_PYTHON_VERSION, llama_cpp_home

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and PR_SET_PDEATHSIG")

# A stand-in for a tool that starts processes of its own (cmake --build -> make -> cc1plus): it writes its own
# pid and its child's, then waits.
TOOL_WITH_A_CHILD = textwrap.dedent("""
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{__import__('os').getpid()} {child.pid}\\n")
    time.sleep(300)
""")


def wait_for_pids(pid_file: Path, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_file.is_file():
            pids = [int(p) for p in pid_file.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.1)
    pytest.fail(f"the stand-in never wrote {count} pids to {pid_file}")


def survivors(pids: list[int], timeout: float = 15) -> list[int]:
    """The pids still running (not zombies) after `timeout`; any found are killed before returning."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


@pytest.mark.parametrize("how", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGKILL])
def test_a_tool_and_what_it_started_end_with_the_export(tmp_path, how):
    pid_file = tmp_path / "pids"
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL_WITH_A_CHILD)
    export = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from grpo_export.processes import run_in_own_group
        run_in_own_group([sys.executable, {str(tool)!r}, {str(pid_file)!r}], guard=True)
    """)])
    pids = wait_for_pids(pid_file, 2)
    export.send_signal(how)
    export.wait(timeout=60)
    assert not survivors(pids), f"still running after the export got signal {how.name}"
    assert export.returncode != 0


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_llama_cpp_build_processes_end_with_the_export(tmp_path, how):
    """The real build step (`ensure_llama_cpp_tools`), with a `cmake` on PATH whose `--build` starts a
    compiler stand-in: after the exporting process is signalled, neither runs on."""
    cache = tmp_path / "cache"
    source = llama_cpp_home(cache, LLAMA_CPP_PYTHON_VERSION) / "llama.cpp"
    source.mkdir(parents=True)
    (source / ".unpacked").write_text("stand-in\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "pids"
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL_WITH_A_CHILD)
    cmake = bin_dir / "cmake"
    cmake.write_text(f"#!/bin/sh\ncase \"$*\" in *--build*) exec {sys.executable} {tool} {pid_file};; esac\nexit 0\n")
    cmake.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    export = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from grpo_export.llama_cpp import ensure_llama_cpp_tools
        ensure_llama_cpp_tools(Path({str(cache)!r}), jobs=1)
    """)], env=environment)
    pids = wait_for_pids(pid_file, 2)
    export.send_signal(how)
    export.wait(timeout=60)
    assert not survivors(pids), f"the build ran on after the export got signal {how.name}"


def test_the_export_stage_and_its_tools_end_with_the_app(tmp_path):
    """`export_run_in_fresh_process` (the app's export stage) SIGTERMed while the export's tool runs: the export
    process and the tool end, and the app ends with status 143."""
    pid_file = tmp_path / "pids"
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL_WITH_A_CHILD)
    # the export stage's command is `python -m grpo_export ...`: a stand-in package of that name first on the
    # child's PYTHONPATH runs the tool instead of an export
    standin = tmp_path / "standin" / "grpo_export"
    standin.mkdir(parents=True)
    (standin / "__init__.py").write_text("")
    (standin / "__main__.py").write_text(textwrap.dedent(f"""
        import os, subprocess, sys
        with open({str(pid_file)!r}, "a") as pids:
            pids.write(f"{{os.getpid()}}\\n")
        subprocess.run([sys.executable, {str(tool)!r}, {str(pid_file)!r}])
    """))
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os
        from grpo_export.run_export import export_run_in_fresh_process
        os.environ["PYTHONPATH"] = {str(standin.parent)!r} + os.pathsep + os.environ.get("PYTHONPATH", "")
        export_run_in_fresh_process("run", base_model="base", gguf_methods=[])
    """)])
    pids = wait_for_pids(pid_file, 3)
    app.send_signal(signal.SIGTERM)
    app.wait(timeout=60)
    assert not survivors(pids), "the export stage (or its tool) ran on after the app was stopped"
    assert app.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize("name", ["../escaped", *(pytest.param(name, marks=pytest.mark.slow)
                                                  for name in ("/tmp/escaped", "sub/name", "..")), "."])
def test_a_gguf_name_that_is_a_path_is_refused_with_one_line(tmp_path, name):
    """`--model-name ../escaped` wrote its GGUF beside the target, outside staging, where no clean-up removes it."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x")
    before = sorted(tmp_path.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "grpo_export", "gguf", str(model), str(tmp_path / "out"),
                             "--model-name", name], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: model_name (CLI: --model-name) {name!r} names a path")
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == before


def test_a_run_export_with_a_path_as_its_name_is_refused_before_the_merge(tmp_path):
    from grpo_export.errors import ExportError
    from grpo_export.run_export import export_run

    (tmp_path / "run" / "lora").mkdir(parents=True)
    (tmp_path / "run" / "lora" / "adapter_config.json").write_text("{}")
    with pytest.raises(ExportError, match="--model-name"):
        export_run(tmp_path / "run", base_model=str(tmp_path / "no-such-base"), model_name="../escaped")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["lora"]
