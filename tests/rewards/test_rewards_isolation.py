"""The "use it elsewhere" promise: light import, and the package installs and scores on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "packages" / "rewards"
HEAVY = ["torch", "transformers", "datasets", "numpy", "langid", "math_verify", "sympy"]


# A fresh venv sees only what is installed into it: no PYTHONPATH of the process running the tests.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _run(python: str, code: str, **kwargs) -> str:
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, env=CLEAN_ENV,
                            **kwargs)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_is_light_and_langid_loads_on_first_use():
    code = (
        "import json, sys\n"
        "import grpo_rewards\n"
        f"before = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "grpo_rewards.get_reward_funcs(['language', 'math_accuracy', 'correctness'])\n"
        f"built = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "grpo_rewards.get_reward_funcs(['language'])[0](completions=['<think>Aku berpikir kalau aku adalah kamu</think>'])\n"
        "print(json.dumps([before, built, 'langid' in sys.modules]))\n"
    )
    before, built, langid_loaded = json.loads(_run(sys.executable, code))
    assert before == [] and built == []
    assert langid_loaded


@pytest.mark.slow
def test_installs_alone_into_a_fresh_venv_and_scores(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # Only the local package (and its dependency langid, from the configured package index).
    install = subprocess.run(
        [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", str(PACKAGE)],
        capture_output=True, text=True, timeout=600, env={**CLEAN_ENV, "PIP_NO_INPUT": "1"},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    code = (
        "import json, grpo_rewards\n"
        "funcs = grpo_rewards.get_reward_funcs(['strict_format', 'correctness', 'language'])\n"
        "c = [[{'role': 'assistant', 'content': '<reasoning>\\nAku berpikir\\n</reasoning>\\n<answer>\\n1,080\\n</answer>'}]]\n"
        "print(json.dumps({f.__name__: f(prompts=[[]], completions=c, answer=['1080']) for f in funcs} | {'file': grpo_rewards.__file__}))\n"
    )
    result = json.loads(_run(python, code, cwd=tmp_path))
    assert result["strict_format"] == [0.5] and result["correctness"] == [2.0] and len(result["language"]) == 1
    assert result["file"].startswith(str(env_dir))  # the installed copy, not the workspace's editable one
    pip_list = _run(python, "import importlib.metadata as m; print(sorted(d.metadata['Name'].lower() for d in m.distributions()))")
    assert "torch" not in pip_list and "grpo-training" not in pip_list and "grpo-rewards" in pip_list
