"""load_dapo on a fixture file in DAPO-Math-17k-Processed's schema."""

from __future__ import annotations

import json

from conftest import FIXTURES

from grpo_data import DAPO_SYSTEM_PROMPT_EN, DAPO_SYSTEM_PROMPT_ZH, SYSTEM_PROMPTS, LoadReport, load_dapo

FIXTURE = FIXTURES / "dapo_sample.jsonl"


def test_fixture_prompts_and_answers():
    raw = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    report = LoadReport()
    dataset = load_dapo(FIXTURE, report=report)

    assert dataset.num_rows == len(raw) == report.rows_kept
    for row, source in zip(dataset, raw):
        assert row["prompt"] == [
            {"role": "system", "content": DAPO_SYSTEM_PROMPT_EN},
            {"role": "user", "content": source["prompt"]},
        ]
        assert row["answer"] == source["solution"]
        assert row["solution"] == source["solution"]
        assert row["question"] == source["prompt"]
    assert dataset["answer"] == ["56", "6", "2", "54", "7", "999"]
    assert {"data_source", "reward_model", "extra_info"} <= set(dataset.column_names)


def test_chinese_system_prompt_by_name():
    dataset = load_dapo(FIXTURE, system_prompt=SYSTEM_PROMPTS["dapo_zh"])
    assert dataset[0]["prompt"][0] == {"role": "system", "content": DAPO_SYSTEM_PROMPT_ZH}
    assert "印尼语" in DAPO_SYSTEM_PROMPT_ZH and "Indonesia" in DAPO_SYSTEM_PROMPT_EN


def test_folder_with_config_subfolder(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "train.jsonl").write_bytes(FIXTURE.read_bytes())
    assert load_dapo(tmp_path, config="en", split="train").num_rows == 6
