"""split_train_eval and the system prompt registry."""

from __future__ import annotations

import pytest

from grpo_data import SYSTEM_PROMPTS, XML_COT_FORMAT, XML_SYSTEM_PROMPT, resolve_system_prompt, split_train_eval, synthetic_gsm8k


def test_split_is_deterministic_and_disjoint():
    rows = synthetic_gsm8k(100, seed=0)
    train, held_out = split_train_eval(rows, 10, seed=3)
    again_train, again_held_out = split_train_eval(rows, 10, seed=3)
    assert (train.num_rows, held_out.num_rows) == (90, 10)
    assert held_out["question"] == again_held_out["question"] and train["question"] == again_train["question"]
    assert not set(train["question"]) & set(held_out["question"])
    assert sorted([*train["question"], *held_out["question"]]) == sorted(rows["question"])
    assert split_train_eval(rows, 10, seed=4)[1]["question"] != held_out["question"]


def test_split_by_fraction():
    assert split_train_eval(synthetic_gsm8k(50), 0.2)[1].num_rows == 10


@pytest.mark.parametrize("size", [0, 50, 1.0, -0.1])
def test_split_size_out_of_range(size):
    with pytest.raises(ValueError, match="eval_size"):
        split_train_eval(synthetic_gsm8k(50), size)


def test_system_prompts_by_name():
    assert set(SYSTEM_PROMPTS) == {"xml", "xml_cot", "dapo_en", "dapo_zh"}
    assert resolve_system_prompt("xml") == XML_SYSTEM_PROMPT
    assert "<reasoning>" in XML_SYSTEM_PROMPT and "<answer>" in XML_SYSTEM_PROMPT
    assert XML_COT_FORMAT.format(reasoning="r", answer="4") == "<reasoning>\nr\n</reasoning>\n<answer>\n4\n</answer>\n"
    with pytest.raises(KeyError, match="known names: dapo_en, dapo_zh, xml, xml_cot"):
        resolve_system_prompt("json")
