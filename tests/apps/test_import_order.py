"""Unsloth patches trl when it is imported, so on a GPU it must come first. The `grpo-train` CLI, which is the
apps' training process too, chooses the backend, importing Unsloth when chosen, before anything imports trl;
the app's own process imports neither.

Imported the other way round, Unsloth logs "trl was imported before unsloth". Here, without a GPU, a fresh interpreter records whether trl was loaded at the moment the backend was chosen.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[2] / "apps"

SPY = """
import importlib.util, json, sys
import grpo_training.model.backends as backends

choices = []
real_select_backend = backends.select_backend

def spy(requested="auto", **kwargs):
    choices.append({"requested": requested, "import_early": kwargs.get("import_early", False),
                    "trl_loaded": "trl" in sys.modules})
    return real_select_backend(requested, **kwargs)

backends.select_backend = spy
"""

APP_PROCESS = SPY + """
spec = importlib.util.spec_from_file_location("app_train", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
trl_after_import = "trl" in sys.modules
# the training process stops at the recipe check, after it chose its backend
status = app.main(["--demo", "--set", "grpo.max_steps=1", "--set", "grpo.no_such_field=1"])
print(json.dumps({"trl_after_import": trl_after_import, "choices": choices, "status": status,
                  "heavy": sorted(name for name in ("trl", "unsloth", "vllm", "transformers") if name in sys.modules)}))
"""

CLI_CHECK = SPY + """
import atexit
atexit.register(lambda: print(json.dumps({"choices": choices, "trl_loaded_at_exit": "trl" in sys.modules})))
import grpo_training.cli.main as cli
sys.exit(cli.main_train(sys.argv[1:]))
"""


def run_python(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 2), done.stderr[-3000:]
    lines = (done.stdout + done.stderr).strip().splitlines()
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


@pytest.mark.parametrize("app", [pytest.param(name, marks=() if name == "phi4_gsm8k" else pytest.mark.slow)
                                 for name in sorted(path.name for path in APPS.iterdir() if (path / "train.py").is_file())])
def test_app_trains_in_a_process_of_its_own_and_never_imports_trl(app: str) -> None:
    # The app's process only chooses the recipe and waits: the training process (`python -m grpo_training train`,
    # whose backend-before-trl order the next test checks) holds the trainer and vLLM, and ends before the export.
    seen = run_python(APP_PROCESS, str(APPS / app / "train.py"))
    assert seen["trl_after_import"] is False, f"importing apps/{app}/train.py imports trl"
    assert seen["status"] == 2, "the training process's recipe error is the app's exit status"
    assert seen["choices"] == [] and seen["heavy"] == [], seen


def test_cli_chooses_the_backend_before_trl_is_imported() -> None:
    # `grpo-train train` with no recipe (the demo's); an unknown field stops it at the recipe check, after
    # the backend was chosen
    seen = run_python(CLI_CHECK, "--set", "run.backend=trl", "--set", "grpo.no_such_field=1")
    assert seen["choices"] == [{"requested": "trl", "import_early": True, "trl_loaded": False}]
    assert seen["trl_loaded_at_exit"] is True  # the recipe was then loaded (and refused)
