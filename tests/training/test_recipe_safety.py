"""A recipe cannot carry what would break or leak a run: numbers that are not finite, secrets, YAML that expands
without bound, a run name that leaves `run.output_dir`, bytes that are not UTF-8, a folder for a file, a custom
reward that never returns. Each is one `error:` line from `--check`, exit status 2, before any model loads."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import yaml

from grpo_training.recipe import custom_rewards
from grpo_training.cli import main as cli
from grpo_training.recipe import DEMO_RECIPE, Recipe, RecipeError, dump_recipe, load_recipe
from grpo_training.recipe.grpo_args import plan_grpo_args
from grpo_training.recipe.lengths import GRPOLengths
from grpo_training.run.model_card import write_model_card
from grpo_training.recipe.ranges import RANGES
from grpo_training.recipe.secrets import redact_secrets
from grpo_training.run.folders import reserve_run_folder

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def demo_raw() -> dict:
    return yaml.safe_load(DEMO_RECIPE.read_text())


def write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def check(capsys, *argv: str) -> tuple[int, str]:
    """`python -m grpo_training train ... --check`: its exit status and its stderr."""
    status = cli.main(["train", *argv, "--check"])
    return status, capsys.readouterr().err


# ------------------------------------------------------------------------------------------- finite numbers


@pytest.mark.parametrize("override, field", [
    ("grpo.learning_rate=.inf", "grpo.learning_rate"),
    ("grpo.learning_rate=.nan", "grpo.learning_rate"),
    ("grpo.learning_rate=1e999", "grpo.learning_rate"),
    ("grpo.beta=.inf", "grpo.beta"),
    ("grpo.temperature=nan", "grpo.temperature"),
    ("grpo.top_p=.nan", "grpo.top_p"),
    ("lora.dropout=.nan", "lora.dropout"),
    ("grpo.adam_beta1=.inf", "grpo.adam_beta1"),  # a float field without a range
    ("evaluation.temperature=-.inf", "evaluation.temperature"),
    ("rewards.weights=[1, .nan, 1, 1, 1]", "rewards[1].weight"),
    ("grpo.vllm_sampling_kwargs={seed: 1, presence_penalty: .nan}", "grpo.vllm_sampling_kwargs.presence_penalty"),
])
def test_numbers_that_are_not_finite_are_refused_naming_the_field(override, field):
    with pytest.raises(RecipeError) as error:
        load_recipe(DEMO_RECIPE, [override])
    assert str(error.value).startswith(f"{field}: must be a finite number"), str(error.value)


def test_every_range_refuses_nan_and_infinity():
    for path, valid in RANGES.items():
        for value in (float("nan"), float("inf"), float("-inf")):
            assert valid.problem(value), f"{path} accepted {value}"


def test_cli_check_refuses_yaml_infinity_in_the_file(tmp_path, capsys):
    raw = demo_raw()
    raw["grpo"]["learning_rate"] = float("inf")  # written as YAML's .inf
    recipe = write(tmp_path / "recipe.yaml", raw)
    assert ".inf" in recipe.read_text()
    assert check(capsys, str(recipe)) == (2, "error: grpo.learning_rate: must be a finite number, got inf\n")


# ------------------------------------------------------------------------------------------- secrets


def test_a_hub_token_given_with_set_is_refused_without_repeating_it(capsys):
    status, err = check(capsys, str(DEMO_RECIPE), "--set", f"grpo.hub_token={HF_TOKEN}")
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: grpo.hub_token: a recipe may not hold a secret")
    assert "HF_TOKEN or `hf auth login`" in err
    assert HF_TOKEN not in err


@pytest.mark.parametrize("override, field", [
    ("grpo.hub_token=not-even-an-hf-token", "grpo.hub_token"),
    (f"data.source={HF_TOKEN}", "data.source"),  # a token where a value belongs
    (f"grpo.max_steps={HF_TOKEN}", "grpo.max_steps"),  # the type check would have repeated it
    (f"run.swanlab_project=team-{HF_TOKEN}", "run.swanlab_project"),
    ("grpo.vllm_sampling_kwargs={api_key: sk-123}", "grpo.vllm_sampling_kwargs.api_key"),
])
def test_secrets_anywhere_in_a_recipe_are_refused(override, field):
    with pytest.raises(RecipeError) as error:
        load_recipe(DEMO_RECIPE, [override])
    message = str(error.value)
    assert message.startswith(f"{field}: ") and "a recipe may not hold a secret" in message, message
    assert HF_TOKEN not in message and "sk-123" not in message and "not-even" not in message


@pytest.mark.parametrize("override", [
    "vllm_sampling_kwargs={api_key: sk-123}",  # no section: not an override at all
    "grpo.vllm_sampling_kwargs={api_key: sk-123",  # not YAML: kept as text
    "grpo.vllm_sampling_kwargs=[{seed: 1}, {api_key: sk-123}]",
])
def test_an_override_holding_a_secret_is_never_repeated(capsys, override):
    status, err = check(capsys, str(DEMO_RECIPE), "--set", override)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "sk-123" not in err, err


def test_a_secret_in_a_custom_rewards_params_is_refused(tmp_path):
    raw = demo_raw()
    raw["rewards"]["funcs"].append({"name": "judge.py:score", "params": {"openai_api_key": "sk-abc"}})
    with pytest.raises(RecipeError, match=r"^rewards\[5\]\.params\.openai_api_key: a recipe may not hold a secret"):
        load_recipe(write(tmp_path / "recipe.yaml", raw))


def test_fields_named_like_tokens_but_not_secrets_are_accepted():
    recipe = load_recipe(DEMO_RECIPE, ["evaluation.max_new_tokens=64", "grpo.vllm_sampling_kwargs={stop_token_ids: [2]}"])
    assert recipe.evaluation.max_new_tokens == 64 and recipe.grpo["vllm_sampling_kwargs"] == {"stop_token_ids": [2]}


def test_a_tokenizers_special_token_is_text_not_a_secret(tmp_path):
    raw = demo_raw()
    raw["rewards"]["funcs"].append({"name": "ends.py:score", "params": {"eos_token": "</s>", "pad_token": "<pad>"}})
    (tmp_path / "ends.py").write_text(textwrap.dedent("""
        def score(eos_token, pad_token):  # with params, a factory
            def ends_with_eos(completions, **kwargs):
                return [float(str(completion).endswith(eos_token)) for completion in completions]
            return ends_with_eos
    """))
    recipe = load_recipe(write(tmp_path / "recipe.yaml", raw))
    assert recipe.rewards.funcs[5].params == {"eos_token": "</s>", "pad_token": "<pad>"}
    assert "eos_token: </s>" in dump_recipe(recipe, tmp_path / "recorded.yaml").read_text()  # not redacted


def test_a_secret_that_slipped_past_the_check_is_redacted_where_the_recipe_is_written(tmp_path):
    recipe = load_recipe(DEMO_RECIPE)
    recipe.grpo["hub_token"] = HF_TOKEN  # set after the checks, as a program using the library could
    recipe.data.source = f"notes {HF_TOKEN}"
    recorded = dump_recipe(recipe, tmp_path / "recipe.yaml").read_text()
    card = write_model_card(tmp_path, recipe, []).read_text()
    (tmp_path / "no_recipe").mkdir()
    card_without_recorded_recipe = write_model_card(tmp_path / "no_recipe", recipe, []).read_text()
    for text in (recorded, card, card_without_recorded_recipe, str(redact_secrets(recipe.to_dict()))):
        assert HF_TOKEN not in text and "<redacted>" in text
    with pytest.raises(RecipeError, match="^grpo.hub_token: a recipe may not hold a secret"):
        plan_grpo_args(recipe, output_dir=str(tmp_path), lengths=GRPOLengths.from_recipe(recipe, 64),
                       cuda=False)  # never in training_args.bin


def test_a_secret_that_slipped_past_the_check_is_redacted_in_the_swanlab_config(tmp_path, monkeypatch):
    import swanlab

    from grpo_training.run.steps import start_swanlab

    monkeypatch.setenv("SWANLAB_MODE", "local")  # start_swanlab sets it: restored after the test
    recipe = load_recipe(DEMO_RECIPE, ["run.swanlab_mode=local"])
    recipe.data.source = f"notes {HF_TOKEN}"  # set after the checks, as a program using the library could
    try:
        assert start_swanlab(recipe, tmp_path, ["swanlab"]) is not None
    finally:
        swanlab.finish()
    written = [path for path in (tmp_path / "swanlog").rglob("*") if path.is_file()]
    assert all(HF_TOKEN.encode() not in path.read_bytes() for path in written)
    (config,) = [path for path in written if path.name == "config.yaml"]
    assert "notes <redacted>" in config.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------- YAML size


def alias_bomb(levels: int = 7) -> str:
    """YAML whose last anchor expands to 10**levels leaves (in a few hundred bytes)."""
    lines = ["vllm_sampling_kwargs:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]" for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys):
    text = DEMO_RECIPE.read_text(encoding="utf-8").replace("grpo:\n", "grpo:\n" + textwrap.indent(alias_bomb(), "  "), 1)
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    status, err = check(capsys, str(recipe))
    assert time.perf_counter() - started < 10
    assert status == 2
    assert err == (f"error: recipe file {recipe}: the YAML expands to more than 100,000 values (its aliases, *name, "
                   "repeat anchored parts); a recipe holds a few hundred: write the values out or remove the repeated "
                   "aliases\n")


def test_an_alias_bomb_in_a_set_value_is_refused_too():
    bomb = "{a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a], " \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b], d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c], " \
           "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}"
    with pytest.raises(RecipeError, match=r"^override 'grpo.vllm_sampling_kwargs': the YAML expands to more than"):
        load_recipe(DEMO_RECIPE, [f"grpo.vllm_sampling_kwargs={bomb}"])


def test_a_recipe_that_refers_to_itself_is_refused(tmp_path):
    recipe = tmp_path / "loop.yaml"
    recipe.write_text("grpo:\n  vllm_sampling_kwargs: &loop\n    again: *loop\n", encoding="utf-8")
    with pytest.raises(RecipeError, match="refers to itself"):
        load_recipe(recipe)


def test_a_recipe_file_over_the_size_bound_is_refused_before_it_is_parsed(tmp_path, capsys):
    recipe = tmp_path / "big.yaml"
    recipe.write_text(DEMO_RECIPE.read_text(encoding="utf-8") + ("# " + "x" * 98 + "\n") * 11_000, encoding="utf-8")
    status, err = check(capsys, str(recipe))
    assert status == 2 and err == (f"error: recipe file {recipe} is {recipe.stat().st_size:,} bytes; a recipe is a few "
                                   "KB (at most 1,000,000 bytes): give the YAML recipe, not a data or model file\n")


def test_yaml_nested_thousands_deep_is_one_error_line(tmp_path, capsys):
    recipe = tmp_path / "deep.yaml"
    nested = f"grpo:\n  vllm_sampling_kwargs: {{a: {'[' * 5000}{']' * 5000}}}\n"
    recipe.write_text(DEMO_RECIPE.read_text(encoding="utf-8").replace("grpo:\n", nested, 1), encoding="utf-8")
    assert check(capsys, str(recipe)) == (
        2, f"error: recipe file {recipe}: the YAML is nested too deeply; a recipe is a few levels deep\n")


def test_anchors_used_a_few_times_still_work(tmp_path):
    raw = DEMO_RECIPE.read_text(encoding="utf-8").replace("  target_modules: all-linear", "  target_modules: &t [q_proj, v_proj]")
    recipe = tmp_path / "anchors.yaml"
    recipe.write_text(raw + "evaluation:\n  before: false\n", encoding="utf-8")
    assert load_recipe(recipe).lora.target_modules == ["q_proj", "v_proj"]


# ------------------------------------------------------------------------------------------- run.name


@pytest.mark.parametrize("name", ["../x", "/tmp/elsewhere", "a/b", "..", ".", "a\\b"])
def test_a_run_name_that_is_not_one_folder_name_is_refused(tmp_path, capsys, name):
    status, err = check(capsys, str(DEMO_RECIPE), "--set", f"run.output_dir={tmp_path / 'runs'}", "--set",
                        f"run.name={name}")
    assert status == 2
    assert err.startswith(f"error: run.name: {name!r} is not a folder name") and err.count("\n") == 1, err
    with pytest.raises(RecipeError, match="is not a folder name"):
        reserve_run_folder(tmp_path / "runs", name)  # the run folder code holds the rule too
    assert sorted(path.name for path in tmp_path.iterdir()) in ([], ["runs"])


def test_a_run_name_with_dots_inside_is_a_folder_name(tmp_path):
    assert reserve_run_folder(tmp_path, "v1..2").parent == tmp_path


# ------------------------------------------------------------------------------------------- recipe files


def test_a_recipe_with_a_latin1_byte_names_the_file_and_the_byte(tmp_path, capsys):
    recipe = tmp_path / "latin1.yaml"
    text = DEMO_RECIPE.read_text(encoding="utf-8")
    recipe.write_bytes(b"# caf\xe9 recipe\n" + text.encode("utf-8"))
    assert check(capsys, str(recipe)) == (
        2, f"error: recipe file {recipe} is not UTF-8 text: byte 0xe9 at offset 5 (line 1, column 6) is not UTF-8; "
           "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)\n")


def test_a_folder_given_as_the_recipe_is_called_a_folder(tmp_path, capsys):
    assert check(capsys, str(tmp_path)) == (
        2, f"error: recipe file {tmp_path} is a folder, not a YAML file; give the recipe file itself\n")
    dump_recipe(Recipe(), tmp_path / "recipe.yaml")  # a run folder
    status, err = check(capsys, str(tmp_path))
    assert status == 2 and f"continue its run with --resume {tmp_path}" in err


@pytest.mark.parametrize("name", ["../x", "./models/no-such-model", "/no/such/model"])
def test_a_model_folder_that_does_not_exist_is_refused_by_the_check(tmp_path, capsys, name):
    """A path is no Hub id: refused before any run folder, not after the data is read."""
    status, err = check(capsys, str(DEMO_RECIPE), "--set", f"model.name={name}", "--set", f"run.output_dir={tmp_path}")
    assert (status, err.count("\n")) == (2, 1), err
    assert err.startswith(f"error: model.name: {name!r} does not exist (looked at ") and "Hub id" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- reward probe


def test_a_custom_reward_that_never_returns_fails_the_check_in_bounded_time(tmp_path, capsys, monkeypatch):
    (tmp_path / "slow.py").write_text(textwrap.dedent("""
        import time

        def sleeps(completions, **kwargs):
            time.sleep(3600)
            return [0.0] * len(completions)
    """))
    raw = demo_raw()
    raw["rewards"]["funcs"].append("slow.py:sleeps")
    recipe = write(tmp_path / "recipe.yaml", raw)
    monkeypatch.setattr(custom_rewards, "PROBE_SECONDS", 1.0)
    started = time.perf_counter()
    status, err = check(capsys, str(recipe))
    assert time.perf_counter() - started < 10
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("error: rewards[5].name: 'slow.py:sleeps' did not return within 1 s"), err
