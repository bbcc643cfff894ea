"""Which recipe an app runs on a machine without a GPU: what the user asked for, or the demo only when nothing
was asked (and then it says so). This machine has no CUDA GPU."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from grpo_training.cli.app import app_argument_parser, app_recipe_source
from grpo_training.model.backends import cuda_available

APP = Path(__file__).resolve().parents[2] / "apps" / "phi4_gsm8k"

pytestmark = pytest.mark.skipif(cuda_available(), reason="the fallback to the demo happens only without a GPU")


def choose(*argv: str) -> tuple[str, list[str]]:
    path, overrides = app_recipe_source(app_argument_parser("x").parse_args(list(argv)), APP)
    return path.name, overrides


def test_nothing_asked_falls_back_to_the_demo_and_says_so(caplog):
    caplog.set_level(logging.WARNING)
    assert choose() == ("demo_cpu.yaml", [])
    assert "switches to the CPU demo" in caplog.text


@pytest.mark.parametrize("argv, overrides", [
    (["--backend", "trl"], ["run.backend=trl"]),
    (["--cpu"], ["run.backend=trl"]),
    (["--set", "model.name=org/my-model"], ["model.name=org/my-model"]),
    (["--backend", "trl", "--set", "model.name=org/my-model"], ["model.name=org/my-model", "run.backend=trl"]),
])
def test_what_was_asked_runs_the_recipe_with_the_named_model(argv, overrides, caplog):
    caplog.set_level(logging.WARNING)
    assert choose(*argv) == ("recipe.yaml", overrides)
    assert "demo" not in caplog.text


def test_push_repo_id_is_checked_before_anything_runs(capsys):
    parser = app_argument_parser("x")
    for bad in ("../x", "me/my model", "just-a-name", "a/b/c"):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(["--push-to-hub", bad])
        assert exit_info.value.code == 2
        assert f"{bad!r} is not a Hub repo id" in capsys.readouterr().err
    assert parser.parse_args(["--push-to-hub", "me/phi4-gsm8k-grpo"]).push_to_hub == "me/phi4-gsm8k-grpo"
