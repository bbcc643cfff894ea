"""Model-card facts from a training run folder, and the CLI-readable evaluation table."""

from __future__ import annotations

import doctest
import json

import pytest

import grpo_export.hub
import grpo_export.run_export
from grpo_export.errors import ExportError, HubPushError
from grpo_export.hub import build_model_card, load_evaluation_table
from grpo_export.run_export import card_info_from_run, export_run

REPORTS = {"version": 1, "table": "...", "reports": [
    {"label": "before", "n": 64, "answer_accuracy": 0.016, "format_compliance": 0.297, "target_language_rate": None},
    {"label": "after", "n": 64, "answer_accuracy": 0.094, "format_compliance": 1.0, "target_language_rate": None},
]}


def test_doctests() -> None:
    for module in (grpo_export.hub, grpo_export.run_export):
        assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_card_from_a_run_folder_has_recipe_and_before_after_table(tmp_path) -> None:
    (tmp_path / "recipe.yaml").write_text("grpo:\n  learning_rate: 0.0002\n")
    (tmp_path / "eval.json").write_text(json.dumps(REPORTS))
    info = card_info_from_run(tmp_path, base_model="HuggingFaceTB/SmolLM2-135M-Instruct", datasets=["openai/gsm8k"])
    assert info.recipe == "grpo:\n  learning_rate: 0.0002\n"
    assert info.evaluation == [
        {"metric": "answer_accuracy", "before": 0.016, "after": 0.094, "n": 64},
        {"metric": "format_compliance", "before": 0.297, "after": 1.0, "n": 64},
    ]
    tmp_path.joinpath("lora").mkdir()
    card = str(build_model_card(tmp_path / "lora", "me/demo", info))
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "format_compliance" in card


def test_eval_table_refuses_what_it_cannot_read(tmp_path) -> None:
    bad = tmp_path / "eval.json"
    bad.write_text(json.dumps({"reports": [{"n": 4}]}))
    with pytest.raises(HubPushError, match="label"):
        load_evaluation_table(bad)
    bad.write_text("{not json")
    with pytest.raises(HubPushError, match="eval.json"):
        load_evaluation_table(bad)


def test_export_run_needs_a_trained_lora(tmp_path) -> None:
    with pytest.raises(ExportError, match="no LoRA adapter"):
        export_run(tmp_path, base_model="HuggingFaceTB/SmolLM2-135M-Instruct", gguf_methods=[])


def test_the_pushed_card_carries_the_runs_own_card(tmp_path) -> None:
    """The card a run writes into its folder is the one the push uses (plus the Hub's metadata), less
    the section on loading the run's local LoRA; a README.md the toolkit did not write (TRL's) is not used."""
    from grpo_training.recipe import Recipe, dump_recipe
    from grpo_training.run.model_card import write_model_card

    recipe = Recipe()
    dump_recipe(recipe, tmp_path / "recipe.yaml")
    (tmp_path / "eval.json").write_text(json.dumps(REPORTS))
    run_card = write_model_card(tmp_path, recipe, []).read_text()
    tmp_path.joinpath("merged_16bit").mkdir()
    info = card_info_from_run(tmp_path, base_model="HuggingFaceTB/SmolLM2-135M-Instruct")
    card = str(build_model_card(tmp_path / "merged_16bit", "me/demo", info))
    assert card.startswith("---\n") and "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card
    for heading in ("## Base model", "## Data", "## Evaluation", "## Recipe (as run)"):
        assert heading in run_card and heading in card, heading
    assert "## Loading the LoRA" in run_card and "## Loading the LoRA" not in card
    assert str(tmp_path / "lora") not in card  # no local path of this machine goes to the Hub

    (tmp_path / "README.md").write_text("---\nlibrary_name: transformers\n---\n# Model Card for None\n")  # TRL's
    fallback = str(build_model_card(tmp_path / "merged_16bit", "me/demo", card_info_from_run(tmp_path, base_model="b")))
    assert "Model Card for None" not in fallback and "## Evaluation" in fallback and "format_compliance" in fallback
