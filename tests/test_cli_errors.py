"""Every CLI of the toolkit answers an expected error (a bad path, a bad recipe, a bad flag) with one `error:`
line and exit status 2, never a traceback: `python -m grpo_export`, `python -m grpo_data` and
`python -m grpo_training` with its commands."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

import grpo_data.cli
import grpo_export.cli
import grpo_training.cli.main

CLIS = {"grpo_export": grpo_export.cli.main, "grpo_data": grpo_data.cli.main, "grpo_training": grpo_training.cli.main.main}

# (cli, arguments); in the arguments NOPE is a path that does not exist, ADAPTER a folder with an empty
# adapter_config.json, BAD a recipe with no reward, BROKEN a file that is not YAML, OUT a fresh output folder
CASES = [
    ("grpo_export", "lora NOPE OUT"),
    ("grpo_export", "lora ADAPTER OUT --base NOPE"),
    ("grpo_export", "merged NOPE NOPE OUT"),
    ("grpo_export", "gguf NOPE OUT"),
    ("grpo_export", "run NOPE --base NOPE"),
    ("grpo_export", "push NOPE me/model --dry-run"),
    ("grpo_export", "lora NOPE OUT --no-such-flag"),
    ("grpo_export", "no-such-command"),
    ("grpo_data", "gsm8k --source NOPE --out OUT"),
    ("grpo_data", "gsm8k --source BAD --out OUT"),
    ("grpo_data", "synthetic --n 5 --tokenizer NOPE --out OUT"),
    ("grpo_data", "synthetic --n -3 --out OUT"),
    ("grpo_data", "synthetic --n 5 --out OUT --no-such-flag"),
    ("grpo_training", "train NOPE"),
    ("grpo_training", "train BAD"),
    ("grpo_training", "train BROKEN"),
    ("grpo_training", "train --resume NOPE"),
    ("grpo_training", "train BAD --no-such-flag"),
    ("grpo_training", "no-such-command"),
    ("grpo_training", ""),
    ("grpo_training", "plan NOPE --gpu-memory 24GB"),
    ("grpo_training", "plan BAD --gpu-memory 24GB"),
    ("grpo_training", "launch --num-processes 2 NOPE"),
    ("grpo_training", "launch --num-processes 0 BAD"),
    ("grpo_training", "eval --lora NOPE"),
    ("grpo_training", "eval --data NOPE --n 2"),
    ("grpo_training", "generate --lora NOPE --prompt hi"),
]


@pytest.fixture
def paths(tmp_path) -> dict[str, str]:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({}))
    (tmp_path / "bad.yaml").write_text("grpo:\n  learning_rate: 1.0e-5\n")
    (tmp_path / "broken.yaml").write_text("grpo: [1\n")
    return {"NOPE": str(tmp_path / "nope"), "ADAPTER": str(adapter), "BAD": str(tmp_path / "bad.yaml"),
            "BROKEN": str(tmp_path / "broken.yaml"), "OUT": str(tmp_path / "out")}


def run_cli(cli: str, argv: list[str]) -> tuple[int, str]:
    """The exit status and stderr of `python -m <cli> <argv>`, run in this process (argparse exits; mains return)."""
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        try:
            status = CLIS[cli](argv)
        except SystemExit as exit_:
            status = exit_.code
    return status, err.getvalue()


@pytest.mark.parametrize("cli, arguments", CASES, ids=[f"{cli} {arguments}" for cli, arguments in CASES])
def test_an_expected_error_is_one_error_line_and_exit_status_2(cli, arguments, paths):
    argv = [paths.get(word, word) for word in arguments.split()]
    status, stderr = run_cli(cli, argv)
    lines = [line for line in stderr.splitlines() if re.match(r"(?:[\w .-]+: )?error: ", line)]  # argparse: "prog: error:"
    assert "Traceback" not in stderr, stderr
    assert status == 2 and len(lines) == 1, stderr
    assert not Path(paths["OUT"]).exists(), "an output folder was made for a command that failed"
