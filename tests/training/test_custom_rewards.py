"""Your own reward in a recipe: `rewards.funcs` takes `package.module:function` or
`path/to/file.py:function` next to registry names, checked when the recipe is read (before any model
loads), with errors naming the entry; a CLI run trains with one."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grpo_training.recipe import RecipeError, load_recipe, recipe_from_dict
from grpo_training.recipe.custom_rewards import ImportedReward, reward_key
from grpo_training.run.monitoring import read_metrics
from grpo_training.prepare import build_reward_funcs
from tiny_model import build_tiny_model, tiny_recipe, write_recipe

REPO = Path(__file__).resolve().parents[2]

USER_REWARDS = textwrap.dedent('''
    def brevity(completions, **kwargs):
        """1.0 for short completions, less for long ones."""
        return [1.0 / (1 + len(c[0]["content"]) / 100) for c in completions]

    def get_length_reward(target):
        def length_reward(completions, completion_ids, **kwargs):
            return [-abs(len(ids) - target) / target for ids in completion_ids]
        return length_reward

    def raises(completions, **kwargs):
        raise KeyError("solution")

    def wrong_count(completions, **kwargs):
        return [1.0]

    def returns_text(completions, **kwargs):
        return ["good"] * len(completions)

    def returns_bools(completions, **kwargs):
        return [True] * len(completions)

    def nothing(completions, **kwargs):
        return None

    not_callable = 3
''')


@pytest.fixture
def rewards_file(tmp_path):
    path = tmp_path / "my_rewards.py"
    path.write_text(USER_REWARDS)
    return path


def _recipe(tmp_path, *funcs):
    return {"rewards": {"funcs": ["xmlcount", *funcs]}, "run": {"output_dir": str(tmp_path / "runs")}}


def test_file_and_module_paths_load_next_to_registry_names(tmp_path, rewards_file, monkeypatch):
    recipe_path = write_recipe(_recipe(tmp_path, "my_rewards.py:brevity",
                                       {"name": "my_rewards.py:get_length_reward", "params": {"target": 4}, "weight": 0.5}),
                               tmp_path / "recipe.yaml")
    recipe = load_recipe(recipe_path)  # relative to the recipe's folder
    funcs = build_reward_funcs(recipe)
    assert [f.__name__ for f in funcs] == ["xmlcount", "brevity", "length_reward"]
    assert funcs[2](completions=[[{"content": "x"}]], completion_ids=[[1, 2]]) == [-0.5]
    clone = pickle.loads(pickle.dumps(funcs[1]))
    assert clone(completions=[[{"content": "x" * 100}]]) == [0.5]
    monkeypatch.syspath_prepend(str(tmp_path))
    recipe = recipe_from_dict(_recipe(tmp_path, "my_rewards:brevity"))
    assert [f.__name__ for f in build_reward_funcs(recipe)] == ["xmlcount", "brevity"]
    assert reward_key("my_rewards.py:get_length_reward") == "get_length_reward"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("my_rewards.py:missing", "has no attribute 'missing'"),
        ("no_such_file.py:brevity", "does not exist"),
        ("no_such_package_xyz.rewards:brevity", "No module named 'no_such_package_xyz'"),
        ("my_rewards.py:not_callable", "is a int, not a function"),
        ("my_rewards.py:raises", "raised on two sample completions"),
        ("my_rewards.py:wrong_count", "returned 1 scores for 2 completions"),
        ("my_rewards.py:returns_text", "each score must be a float or None"),
        ("my_rewards.py:returns_bools", "each score must be a float or None"),
        ("my_rewards.py:nothing", "must return a list"),
        (":brevity", "is not 'package.module:function'"),
    ],
)
def test_a_bad_imported_reward_is_refused_when_the_recipe_is_read(tmp_path, rewards_file, entry, message):
    with pytest.raises(RecipeError, match=r"rewards\[1\]\.name") as error:
        load_recipe(write_recipe(_recipe(tmp_path, entry), tmp_path / "recipe.yaml"))
    assert message in str(error.value)


def test_registry_names_are_still_checked(tmp_path):
    with pytest.raises(RecipeError, match=r"rewards\[1\]\.name: unknown reward 'xmlcont'"):
        recipe_from_dict(_recipe(tmp_path, "xmlcont"))


def test_imported_reward_params_go_to_the_factory(tmp_path, rewards_file):
    reward = ImportedReward(f"{rewards_file}:get_length_reward", {"target": 2})
    assert reward(completions=[[{"content": "x"}]], completion_ids=[[1, 2, 3]]) == [-0.5]


@pytest.mark.slow
def test_a_cli_run_trains_with_an_imported_reward(tmp_path, rewards_file):
    tiny_dir = build_tiny_model(tmp_path / "tiny")
    raw = tiny_recipe(tiny_dir, tmp_path / "runs", grpo={"max_steps": 1})
    raw["rewards"]["funcs"].append({"name": "my_rewards.py:brevity", "weight": 0.5})
    recipe_path = write_recipe(raw, tmp_path / "recipe.yaml")
    done = subprocess.run([sys.executable, "-m", "grpo_training", "train", str(recipe_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert rows and "rewards/brevity/mean" in rows[-1]
    assert 0.0 < rows[-1]["rewards/brevity/mean"] <= 1.0


def test_a_cli_run_with_a_broken_imported_reward_stops_before_the_model_loads(tmp_path, rewards_file):
    empty = tmp_path / "no_model_here"  # a folder with no model in it: the run must stop before reading it
    empty.mkdir()
    raw = tiny_recipe(empty, tmp_path / "runs")
    raw["rewards"]["funcs"].append("my_rewards.py:raises")
    recipe_path = write_recipe(raw, tmp_path / "recipe.yaml")
    done = subprocess.run([sys.executable, "-m", "grpo_training", "train", str(recipe_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "rewards[4].name: 'my_rewards.py:raises' raised on two sample completions" in output
    assert "KeyError: 'solution'" in output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
