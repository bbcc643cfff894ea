"""A run never writes into a folder that already holds another run."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from grpo_training.recipe import DEMO_RECIPE, load_recipe
from grpo_training.run.folders import make_run_dir
from grpo_training.run.folders import LOCK_FILE


def test_a_second_run_with_the_same_name_gets_its_own_folder(tmp_path):
    first = make_run_dir(load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path}", "run.name=demo"]))
    (first / "metrics.jsonl").write_text('{"step": 1, "reward": 0.5}\n')
    recipe = load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path}", "run.name=demo"])
    second = make_run_dir(recipe)
    assert second != first and second.parent == first.parent and second.name.startswith("demo-")
    assert recipe.run.name == second.name
    assert (first / "metrics.jsonl").read_text() == '{"step": 1, "reward": 0.5}\n'
    assert [path.name for path in second.iterdir()] == [LOCK_FILE]  # new: only this process's lock in it


def test_resume_uses_the_existing_folder(tmp_path):
    first = make_run_dir(load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path}", "run.name=demo"]))
    (first / "recipe.yaml").write_text("x: 1\n")
    assert make_run_dir(load_recipe(DEMO_RECIPE), resume_from=first) == first


@pytest.mark.parametrize("name", ["demo", None], ids=["named-and-taken", "default-timestamped-name"])
def test_concurrent_launches_in_the_same_second_never_share_a_folder(tmp_path, monkeypatch, name):
    monkeypatch.setattr(time, "strftime", lambda *args: "20260101-120000")  # every launch in the same second
    taken = tmp_path / "demo"
    taken.mkdir()
    (taken / "metrics.jsonl").write_text('{"step": 1}\n')
    launches = 8
    recipes = [load_recipe(DEMO_RECIPE, [f"run.output_dir={tmp_path}", f"run.name={name or 'null'}"])
               for _ in range(launches)]
    start = threading.Barrier(launches)

    def launch(recipe):
        start.wait()
        return make_run_dir(recipe)

    with ThreadPoolExecutor(launches) as pool:
        folders = list(pool.map(launch, recipes))
    assert len(set(folders)) == launches, sorted(folder.name for folder in folders)
    assert taken not in folders and (taken / "metrics.jsonl").is_file()
    assert sorted(recipe.run.name for recipe in recipes) == sorted(folder.name for folder in folders)
