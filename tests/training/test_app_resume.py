"""`--resume RUN_DIR` continues the run as recorded in its own recipe.yaml, through the apps and the CLI alike;
only safe overrides are allowed (and logged), and the apps print the CLI's clean one-line errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grpo_training.cli import main as cli
from grpo_training.cli import train as train_command
from grpo_training.cli.app import app_argument_parser, training_command
from grpo_training.recipe import DEMO_RECIPE, dump_recipe, load_recipe
from grpo_training.run.resume import ResumeError

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "apps" / "phi4_gsm8k"
STARTED_WITH = ["grpo.max_steps=7", "grpo.max_completion_length=48", "data.eval_rows=8", "data.synthetic_rows=64"]


@pytest.fixture
def run_dir(tmp_path):
    """A run folder as a first `train.py --demo --set ...` left it (its recipe as run)."""
    recipe = load_recipe(DEMO_RECIPE, [*STARTED_WITH, f"run.output_dir={tmp_path / 'runs'}", "run.name=started"])
    folder = tmp_path / "runs" / "started"
    folder.mkdir(parents=True)
    dump_recipe(recipe, folder / "recipe.yaml")
    return folder


def load_app(name: str):
    spec = importlib.util.spec_from_file_location(f"app_{name}", REPO / "apps" / name / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_recipe(argv: list[str]):
    """The recipe an app's training process runs for `argv`: the app's `python -m grpo_training train` command,
    read by that command's own parser and recipe loader."""
    command = training_command(app_argument_parser("x").parse_args(argv), APP_DIR, Path("trained.json"))
    assert command[2:4] == ["grpo_training", "train"]
    return train_command.load_train_recipe(train_command.build_train_parser().parse_args(command[4:]))


def test_app_resume_continues_with_the_runs_own_recipe(run_dir):
    recipe = app_recipe(["--demo", "--resume", str(run_dir)])  # no --set repeated
    assert recipe.grpo["max_steps"] == 7 and recipe.grpo["max_completion_length"] == 48
    assert (recipe.data.eval_rows, recipe.data.synthetic_rows, recipe.run.name) == (8, 64, "started")


def test_app_resume_allows_a_larger_max_steps_and_keeps_the_rest(run_dir):
    recipe = app_recipe(["--resume", str(run_dir), "--set", "grpo.max_steps=12",
                         "--set", "data.eval_rows=8"])  # repeating a recorded value is no change
    assert recipe.grpo["max_steps"] == 12 and recipe.data.eval_rows == 8 and recipe.grpo["max_completion_length"] == 48


@pytest.mark.parametrize(("override", "field"), [("grpo.learning_rate=1e-3", "grpo.learning_rate"),
                                                 ("data.eval_rows=16", "data.eval_rows"),
                                                 ("grpo.max_steps=5", "grpo.max_steps"),
                                                 ("run.name=other", "run.name")])
def test_app_resume_refuses_an_unsafe_override_naming_the_field(run_dir, override, field):
    recorded = (run_dir / "recipe.yaml").read_text()
    with pytest.raises(ResumeError) as error:
        app_recipe(["--resume", str(run_dir), "--set", override])
    assert str(error.value).startswith(f"{field}: ")
    assert (run_dir / "recipe.yaml").read_text() == recorded


def test_run_grpo_refuses_another_recipe_for_a_resumed_run_before_any_model_loads(run_dir, monkeypatch):
    import grpo_training.run.grpo as run

    monkeypatch.setattr(run, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    recorded = (run_dir / "recipe.yaml").read_text()
    with pytest.raises(ResumeError, match=r"^data.eval_rows: cannot change on resume \(recorded 8, asked 64\)"):
        run.run_grpo(load_recipe(DEMO_RECIPE), resume_from=run_dir)  # the app's default recipe, not the run's
    assert (run_dir / "recipe.yaml").read_text() == recorded


def test_a_safe_change_on_resume_is_logged_in_the_runs_log(run_dir, monkeypatch):
    import grpo_training.run.grpo as run

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(run, "load_prompts", stop)
    recipe = load_recipe(run_dir / "recipe.yaml", ["grpo.max_steps=12", "run.report_to=none"])
    with pytest.raises(Stop):
        run.run_grpo(recipe, resume_from=run_dir)
    log = (run_dir / "train.log").read_text()
    assert "Resume: changed grpo.max_steps: 7 -> 12" in log and "Resume: changed run.report_to" in log


def test_cli_resume_uses_the_same_rules(run_dir, tmp_path, capsys):
    assert cli.main(["train", "--resume", str(run_dir), "--set", "grpo.max_steps=9", "--check"]) == 0
    assert cli.main(["train", "--resume", str(run_dir), "--set", "lora.r=4", "--check"]) == 2
    assert capsys.readouterr().err.startswith("error: lora.r: cannot change on resume (recorded 16, asked 4)")
    assert cli.main(["train", str(DEMO_RECIPE), "--resume", str(run_dir), "--check"]) == 2
    assert "continues the run with its own" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [  # each starts a training process: one in the fast lane
    (["--demo", "--set", "grpo.learning_rate=-1"], "error: grpo.learning_rate: must be > 0, got -1\n"),
    pytest.param(["--demo", "--set", "learning_rate"], "error: override 'learning_rate': expected section.field=value",
                 marks=pytest.mark.slow),
    pytest.param(["--resume", "/no/such/run"], "error: --resume /no/such/run: no such run folder\n",
                 marks=pytest.mark.slow),
])
def test_apps_print_the_clis_one_line_errors(argv, message, capfd):
    assert load_app("phi4_gsm8k").main(argv) == 2  # the training process's line, passed on once
    out, err = capfd.readouterr()
    assert err.startswith(message) and "Traceback" not in err and err.count("\n") == 1, err
    assert out.startswith("Training, in a process of its own (python -m grpo_training train):\n  1. load Phi-4"), out


def test_an_untrained_lora_is_a_clean_error_too(capsys):
    from grpo_training.clean_errors import exits_cleanly
    from grpo_training.run.lora import LoraNotTrainedError

    @exits_cleanly
    def main():
        raise LoraNotTrainedError("all 60 lora_B tensors in lora/adapter_model.safetensors are zero")

    assert main() == 2
    assert capsys.readouterr().err == "error: all 60 lora_B tensors in lora/adapter_model.safetensors are zero\n"


def test_a_failed_stage_process_passes_its_status_on_and_says_nothing_twice(capsys):
    from grpo_training.clean_errors import StageProcessFailed, exits_cleanly

    @exits_cleanly
    def main(returncode: int) -> int:
        raise StageProcessFailed("training", returncode)

    assert main(2) == 2 and capsys.readouterr().err == ""  # its `error:` line is the user's one line
    assert main(1) == 1
    assert capsys.readouterr().err == "error: the training process exited with status 1; its messages are above\n"
    assert main(-9) == 137
    assert "killed by signal 9 (out of host memory?)" in capsys.readouterr().err
